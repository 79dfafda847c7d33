"""Saving and restoring a workflow's live state, without its process spec.

The spec is the same for every instance of a definition version, so it is kept once (the
definition's BPMN, parsed and cached by version) and re-attached on load. The saved state carries
its own format number so that a future format can be read by a migration, never guessed.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.specs.event_definitions import MessageEventDefinition

from app.engine.binaries import BinaryValue, restored
from app.engine.events import ServiceCondition, ServiceMessage
from app.engine.timers import SERVICE_TIMERS

STATE_FORMAT = 1
# How a saved state of each older format becomes the next one, as SpiffWorkflow's own serializer
# migrates its versions: `MIGRATIONS[n]` turns a format-n envelope into format n + 1 and says why in
# its docstring. A state saved by any earlier build is read through the chain, never guessed at; the
# states in tests/fixtures/state prove it for every format there has been.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = super().to_dict(workflow)
        del dct["spec"], dct["subprocess_specs"]
        return dct

    def from_dict(self, dct: dict[str, Any], spec: BpmnProcessSpec | None = None,
                  subprocess_specs: dict[str, BpmnProcessSpec] | None = None) -> BpmnWorkflow:
        # The parent restores specs through the registry, which hands back objects it does not know.
        dct["spec"] = spec
        dct["subprocess_specs"] = subprocess_specs or {}
        return super().from_dict(dct)


def _build_serializer() -> BpmnWorkflowSerializer:
    config = dict(CAMUNDA_CONFIG)
    config[BpmnWorkflow] = _SpeclessWorkflowConverter
    # An event an event-based gateway has seen is kept in its state until the gateway moves on.
    config[ServiceMessage] = config[MessageEventDefinition]
    config[ServiceCondition] = config[ConditionalEventDefinition]
    for service_timer, library_timer in SERVICE_TIMERS.items():
        config[service_timer] = config[library_timer]
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
    registry.register(BinaryValue, BinaryValue.saved, restored)
    return BpmnWorkflowSerializer(registry)


_SERIALIZER = _build_serializer()


def dump_workflow(workflow: BpmnWorkflow) -> str:
    # The library's own JSON (with its version stamp), inside an envelope that carries ours.
    return f'{{"state_format":{STATE_FORMAT},"workflow":{_SERIALIZER.serialize_json(workflow)}}}'


class UnreadableState(Exception):
    pass


def load_workflow(state: str, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> BpmnWorkflow:
    saved = json.loads(state)
    found = saved.get("state_format")
    while isinstance(found, int) and found < STATE_FORMAT and found in MIGRATIONS:
        saved = MIGRATIONS[found](saved)
        found = saved["state_format"] = found + 1
    if found != STATE_FORMAT:
        raise UnreadableState(f"saved state has format {found!r}, this service reads formats 1 to {STATE_FORMAT}")
    dct = saved["workflow"]
    _SERIALIZER.migrate(dct)
    return _SERIALIZER.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
