"""Call activities as Camunda 7 runs them: the called process runs as an instance of its own.

When a token reaches a call activity, the engine resolves `calledElement` (text or `${...}`), the
variables its `camunda:in` mappings pass and the child's business key, reports them with the step's
result (a CallRequest) and waits, as an external task waits for its worker. The service starts the
child instance; when the child ends it hands the child's variables back, and the `camunda:out`
mappings set the caller's variables before the token moves on. The called process need not be in the
caller's deployment: it is looked up by key when the activity is reached, as
`camunda:calledElementBinding` says.

As in Camunda, a call activity without any `camunda:in` passes no variable, and one without any
`camunda:out` takes none back. A mapping marked `local="true"` works on the call activity's own
variables (its input parameters): a `camunda:in` reads only them, a `camunda:out` writes into them, so
that its output parameters can read what came back without the case keeping it.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.defaults import NoneTask
from SpiffWorkflow.task import Task

from app.engine.expressions import (
    ExpressionError,
    ExpressionSyntaxError,
    Template,
    compile_template,
    contains_expression,
)
from app.engine.outputs import local_variables
from app.engine.steps import CallRequest, report_call
from app.engine.xml import BPMN_PREFIXES, CAMUNDA_NS, refuse_element

CALLED_ELEMENT_BINDINGS = ("latest", "deployment", "version", "versionTag")


@dataclass(frozen=True)
class VariableMapping:
    """One `camunda:in` or `camunda:out`: every variable (`variables="all"`), or one value (a
    variable `source` or an expression `sourceExpression`) put into `target`."""

    all: bool = False
    source: str | None = None
    source_expression: Template | None = None
    target: str | None = None
    local: bool = False


@dataclass(frozen=True)
class CallActivityDefinition:
    id: str
    called_element: Template
    binding: str
    version: Template | None
    version_tag: Template | None
    inputs: tuple[VariableMapping, ...]
    outputs: tuple[VariableMapping, ...]
    business_key: Template | None

    def static_target(self) -> tuple[str, int | None, str | None] | None:
        """What the activity calls when no part of it is an expression (Camunda's statically bound
        called element): the key, and the version or version tag its binding names; else None."""
        parts = (self.called_element, self.version, self.version_tag)
        if any(part is not None and contains_expression(part.source) for part in parts):
            return None
        return (self.called_element.source.strip(), int(self.version.source) if self.version else None,
                self.version_tag.source.strip() if self.version_tag else None)


def _camunda(element: etree._Element, name: str) -> str | None:
    value = element.get(f"{{{CAMUNDA_NS}}}{name}")
    return value.strip() if value is not None and value.strip() else None


def _template(resource: str, element: etree._Element, text: str, what: str) -> Template:
    try:
        return compile_template(text)
    except ExpressionSyntaxError as error:
        raise refuse_element(resource, element, f"invalid expression in {what} '{text}': {error}") from None


def _mappings(resource: str, element: etree._Element, kind: str,
              holder: etree._Element | None = None) -> tuple[VariableMapping, ...]:
    """The element's camunda:in or camunda:out mappings, kept on `holder` (a signal event definition)
    or on the element itself."""
    mappings = []
    for node in (holder if holder is not None else element).iterfind(f"bpmn:extensionElements/camunda:{kind}",
                                                                       BPMN_PREFIXES):
        if node.get("businessKey") is not None:
            continue  # the child's business key, read apart
        local_text = (node.get("local") or "false").strip()
        if local_text not in ("true", "false"):
            raise refuse_element(resource, element, f"camunda:{kind} local=\"{local_text}\" is not understood; "
                                                    "write local=\"true\" or leave it out")
        local = local_text == "true"
        if node.get("variables") is not None:
            if node.get("variables") != "all":
                raise refuse_element(resource, element, f"camunda:{kind} variables=\"{node.get('variables')}\" "
                                                        "is not understood; write variables=\"all\"")
            mappings.append(VariableMapping(all=True, local=local))
            continue
        source, expression, target = node.get("source"), node.get("sourceExpression"), node.get("target")
        if not target or not target.strip().isidentifier():
            raise refuse_element(resource, element, f"a camunda:{kind} needs a target naming a variable "
                                                    "(or variables=\"all\")")
        if (source is None) == (expression is None):
            raise refuse_element(resource, element, f"a camunda:{kind} needs either a source (a variable name) "
                                                    "or a sourceExpression (${...}), not both")
        mappings.append(VariableMapping(
            source=source.strip() if source is not None else None,
            source_expression=_template(resource, element, expression, f"camunda:{kind} sourceExpression")
            if expression is not None else None,
            target=target.strip(), local=local))
    return tuple(mappings)


@dataclass(frozen=True)
class SignalPayload:
    """What a thrown signal carries (`camunda:in` on its signalEventDefinition, as in Camunda): the
    variables the mappings give, read from the throwing token, and a business key for the instances
    a signal start event starts."""

    variables: tuple[VariableMapping, ...]
    business_key: Template | None

    def evaluate(self, my_task: Task) -> tuple[dict[str, Any], str | None]:
        engine = my_task.workflow.script_engine
        try:
            variables = _mapped(self.variables, dict(my_task.data), engine, local_variables(my_task), my_task)
            key = engine.value(my_task, self.business_key) if self.business_key else None
        except ExpressionError as error:
            raise WorkflowTaskException(str(error), task=my_task) from None
        return variables, str(key) if key not in (None, "") else None


def read_signal_payload(resource: str, event: etree._Element, definition: etree._Element) -> SignalPayload | None:
    """The payload of a signal throw or end event, None when it passes none."""
    keys = [key for node in definition.iterfind("bpmn:extensionElements/camunda:in", BPMN_PREFIXES)
            if (key := node.get("businessKey"))]
    variables = _mappings(resource, event, "in", definition)
    if not variables and not keys:
        return None
    return SignalPayload(variables, _template(resource, event, keys[-1], "camunda:in businessKey") if keys else None)


def read_call_activity(resource: str, element: etree._Element) -> CallActivityDefinition:
    """What a `bpmn:callActivity` calls and which variables go in and out; anything the service cannot
    run (a case, a Java variable mapping, a binding it does not know) is refused with the reason."""
    element_id = element.get("id") or ""
    if _camunda(element, "caseRef") is not None:
        raise refuse_element(resource, element, "calling a CMMN case is not supported; call a process")
    called = (element.get("calledElement") or "").strip()
    if not called:
        raise refuse_element(resource, element, "a call activity needs calledElement, the key of the process "
                                                "it starts (the Modeler's 'Called element')")
    for java in ("variableMappingClass", "variableMappingDelegateExpression"):
        if _camunda(element, java) is not None:
            raise refuse_element(resource, element, f"camunda:{java} runs Java code and cannot run here; "
                                                    "use camunda:in and camunda:out mappings")
    binding = _camunda(element, "calledElementBinding") or "latest"
    if binding not in CALLED_ELEMENT_BINDINGS:
        raise refuse_element(resource, element, f"camunda:calledElementBinding '{binding}' is not supported "
                                                f"(supported: {', '.join(CALLED_ELEMENT_BINDINGS)})")
    version_text = _camunda(element, "calledElementVersion")
    if binding == "version" and (version_text is None or not (version_text.isdigit()
                                                              or contains_expression(version_text))):
        raise refuse_element(resource, element, "binding 'version' needs camunda:calledElementVersion, a "
                                                "version number or an expression ${...}")
    version_tag = _camunda(element, "calledElementVersionTag")
    if binding == "versionTag" and version_tag is None:
        raise refuse_element(resource, element, "binding 'versionTag' needs camunda:calledElementVersionTag")
    keys = [key for node in element.iterfind("bpmn:extensionElements/camunda:in", BPMN_PREFIXES)
            if (key := node.get("businessKey"))]
    return CallActivityDefinition(
        id=element_id,
        called_element=_template(resource, element, called, "calledElement"),
        binding=binding,
        version=_template(resource, element, version_text, "camunda:calledElementVersion")
        if binding == "version" and version_text is not None else None,
        version_tag=_template(resource, element, version_tag, "camunda:calledElementVersionTag")
        if binding == "versionTag" and version_tag is not None else None,
        inputs=_mappings(resource, element, "in"),
        outputs=_mappings(resource, element, "out"),
        business_key=_template(resource, element, keys[-1], "camunda:in businessKey") if keys else None,
    )


def _mapped(mappings: Iterable[VariableMapping], source: Mapping[str, Any], engine: Any,
            own: Mapping[str, Any] | None = None, task: Task | None = None) -> dict[str, Any]:
    """The variables the mappings give, read from `source` (the caller's for camunda:in, the child's
    for camunda:out), or from `own`, the call activity's own variables, for a local camunda:in; a
    missing source variable is passed as null, as Camunda does. An expression reads `execution` as
    the execution of `task`, the caller's token (a camunda:out's, the child's, is not known here)."""
    values: dict[str, Any] = {}
    for mapping in mappings:
        read = own if mapping.local and own is not None else source
        if mapping.all:
            values.update(read)
        elif mapping.source_expression is not None:
            values[mapping.target or ""] = (engine.value(task, mapping.source_expression, read) if task is not None
                                            else mapping.source_expression.evaluate(read, engine.functions))
        else:
            values[mapping.target or ""] = read.get(mapping.source or "")
    # The two instances never share a value: one changing a list in place leaves the other's alone.
    return deepcopy(values)


class CalledProcessTask(NoneTask):
    """A call activity: reports the instance it wants started and waits, STARTED, until the service
    hands back the child's end (see ProcessRun.complete_call_activity)."""

    # Given after parsing (see use_call_activities).
    call: CallActivityDefinition

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.manual = False  # the engine runs it as it reaches it

    def _run_hook(self, my_task: Task) -> bool | None:
        definition = self.call
        engine = my_task.workflow.script_engine
        variables = dict(my_task.data)
        try:
            key = engine.value(my_task, definition.called_element)
            version = engine.value(my_task, definition.version) if definition.version is not None else None
            version_tag = engine.value(my_task, definition.version_tag) if definition.version_tag is not None else None
            business_key = (engine.value(my_task, definition.business_key)
                            if definition.business_key is not None else None)
            passed = _mapped(definition.inputs, variables, engine, local_variables(my_task), my_task)
        except ExpressionError as error:
            raise WorkflowTaskException(str(error), task=my_task) from None
        if not isinstance(key, str) or not key.strip():
            raise WorkflowTaskException(f"calledElement '{definition.called_element.source}' gives no process key",
                                        task=my_task)
        if version is not None and (isinstance(version, bool) or not str(version).isdigit()):
            raise WorkflowTaskException(f"camunda:calledElementVersion gives no version number ('{version}')",
                                        task=my_task)
        if definition.version_tag is not None and (not isinstance(version_tag, str) or not version_tag.strip()):
            raise WorkflowTaskException(f"camunda:calledElementVersionTag '{definition.version_tag.source}' gives no "
                                        "version tag", task=my_task)
        report_call(CallRequest(
            task_id=str(my_task.id), activity_id=definition.id, process_key=key.strip(), binding=definition.binding,
            version=int(version) if version is not None else None,
            version_tag=version_tag.strip() if isinstance(version_tag, str) else None,
            variables=passed, business_key=str(business_key) if business_key not in (None, "") else None))
        return None  # waits for the called instance to end


def returned_variables(definition: CallActivityDefinition, child_variables: Mapping[str, Any],
                       engine: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the caller takes back from the ended child through its camunda:out mappings: the values
    for the case, and those for the call activity's own variables (local="true")."""
    return (_mapped([mapping for mapping in definition.outputs if not mapping.local], child_variables, engine),
            _mapped([mapping for mapping in definition.outputs if mapping.local], child_variables, engine))


def use_call_activities(specs: Iterable[BpmnProcessSpec], definitions: Mapping[str, CallActivityDefinition]) -> None:
    """Give the parsed call activities what they call and map."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, CalledProcessTask):
                task_spec.call = definitions[task_spec.bpmn_id]
