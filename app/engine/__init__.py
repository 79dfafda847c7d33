"""The process engine: the only part of the service that knows SpiffWorkflow.

It reads Camunda Modeler files into process models and runs instances of them. It knows nothing of
HTTP or SQL: it takes and hands out plain data.
"""
from app.engine.binaries import BYTES, FILE, BinaryValue, binaries_in, revived
from app.engine.decisions import (
    BLANK_OUTPUTS,
    ClauseValue,
    DecisionRequirements,
    DecisionTable,
    parse_decision_requirements,
    parse_decision_resources,
    recorded_inputs,
    recorded_outputs,
)
from app.engine.elements import ElementInfo, FormField, ProcessModel, UserTaskDefinition
from app.engine.forms import parse_datetime, validate_submission
from app.engine.migration import MigrationInstruction
from app.engine.model import SEMANTICS, check_timers, checksum, parse_deployment
from app.engine.modification import ActivityInstanceNode, Instruction, target_of
from app.engine.runtime import ProcessRun, RunContext, schedule_start_timer
from app.engine.script_engine import InstanceIdentity
from app.engine.steps import (
    ActivityChange,
    CallRequest,
    EventWait,
    OpenExternalTask,
    OpenUserTask,
    PendingTimer,
    StepResult,
    ThrownError,
    ThrownSignal,
    TimerJob,
    report_deadline,
    report_register_read,
)
from app.engine.timers import TimerJobDefinition, TimerLimits, next_start

__all__ = [
    "SEMANTICS",
    "BYTES",
    "FILE",
    "BinaryValue",
    "binaries_in",
    "revived",
    "ActivityChange",
    "CallRequest",
    "ThrownError",
    "ActivityInstanceNode",
    "Instruction",
    "target_of",
    "MigrationInstruction",
    "ClauseValue",
    "DecisionRequirements",
    "BLANK_OUTPUTS",
    "DecisionTable",
    "parse_decision_requirements",
    "parse_decision_resources",
    "recorded_inputs",
    "recorded_outputs",
    "ElementInfo",
    "EventWait",
    "OpenExternalTask",
    "next_start",
    "schedule_start_timer",
    "FormField",
    "OpenUserTask",
    "PendingTimer",
    "ProcessModel",
    "ProcessRun",
    "RunContext",
    "InstanceIdentity",
    "StepResult",
    "ThrownSignal",
    "report_deadline",
    "report_register_read",
    "UserTaskDefinition",
    "check_timers",
    "checksum",
    "TimerJob",
    "TimerJobDefinition",
    "TimerLimits",
    "parse_datetime",
    "parse_deployment",
    "validate_submission",
]
