"""Camunda's query filters the service does not read. Camunda passes by a parameter it does not know,
and so does the service; but one of Camunda's own filters left unread would hand a client more rows
than it asked for, and a batch named by such a query would act on cases it did not mean. Each of
these, when given (a boolean only when true), is answered with 400 naming it."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.errors import InvalidRequest

# By query, as Camunda names its resource. Left out on purpose: sorting, the switches that change
# only how variables compare or what a row carries, and those that only widen a tenant filter.
NOT_READ: dict[str, frozenset[str]] = {
    "process-instance": frozenset({
        "caseInstanceId", "subCaseInstance", "superCaseInstance"}),
    "task": frozenset({
        "assigneeExpression", "assigneeLikeExpression", "candidateGroupExpression",
        "candidateGroupsExpression", "candidateUserExpression", "caseDefinitionId", "caseDefinitionKey",
        "caseDefinitionName", "caseDefinitionNameLike", "caseExecutionId", "caseInstanceBusinessKey",
        "caseInstanceBusinessKeyLike", "caseInstanceId", "caseInstanceVariables", "createdAfterExpression",
        "createdBeforeExpression", "createdOnExpression", "dueAfterExpression", "dueBeforeExpression",
        "dueDateExpression", "followUpAfterExpression", "followUpBeforeExpression",
        "followUpBeforeOrNotExistentExpression", "followUpDateExpression", "involvedUserExpression",
        "ownerExpression", "processInstanceBusinessKeyExpression", "processInstanceBusinessKeyLikeExpression",
        "updatedAfterExpression"}),
    "execution": frozenset({
        "incidentId", "incidentMessage", "incidentMessageLike", "incidentType"}),
    "variable-instance": frozenset({
        "batchIdIn", "caseExecutionIdIn", "caseInstanceIdIn"}),
    "history/process-instance": frozenset({
        "caseInstanceId", "subCaseInstanceId", "superCaseInstanceId"}),
    "history/task": frozenset({
        "caseDefinitionId", "caseDefinitionKey", "caseDefinitionName", "caseExecutionId", "caseInstanceId",
        "taskVariables"}),
    "history/variable-instance": frozenset({
        "caseActivityIdIn", "caseExecutionIdIn", "caseInstanceId"}),
    "history/incident": frozenset({
        "historyConfiguration"}),
    "history/detail": frozenset({
        "caseExecutionId", "caseInstanceId"}),
    "history/user-operation": frozenset({
        "batchId", "caseDefinitionId", "caseExecutionId", "caseInstanceId"}),
    "history/decision-instance": frozenset({
        "caseDefinitionId", "caseDefinitionKey", "caseInstanceId"}),
    "user": frozenset({
        "potentialStarter"}),
}


def given(value: Any) -> bool:
    """Whether a filter is given: a switch only when true."""
    if value is None or value is False or value in ("", "false", "False") or value == [] or value == {}:
        return False
    return True


def refuse_unread(p: Mapping[str, Any], query: str) -> None:
    """Answers 400 when `p` gives one of Camunda's filters of `query` that the service does not read."""
    unread = sorted(name for name in NOT_READ[query] if given(p.get(name)))
    if unread:
        names = ", ".join(unread)
        raise InvalidRequest(f"The {query} query's filter{'s' if len(unread) > 1 else ''} {names} "
                             f"{'are' if len(unread) > 1 else 'is'} not supported by this service; "
                             "without it the query would find more than asked (README, Camunda REST API)")
