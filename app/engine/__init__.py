"""The process engine: the only part of the service that knows SpiffWorkflow.

It reads Camunda Modeler files into process models and runs instances of them. It knows nothing of
HTTP or SQL: it takes and hands out plain data.
"""
from app.engine.forms import parse_datetime, validate_submission
from app.engine.model import (
    FormField,
    ProcessModel,
    UserTaskDefinition,
    checksum,
    parse_deployment,
)
from app.engine.runtime import (
    ActivityChange,
    OpenUserTask,
    PendingTimer,
    ProcessRun,
    RunContext,
)

__all__ = [
    "ActivityChange",
    "FormField",
    "OpenUserTask",
    "PendingTimer",
    "ProcessModel",
    "ProcessRun",
    "RunContext",
    "UserTaskDefinition",
    "checksum",
    "parse_datetime",
    "parse_deployment",
    "validate_submission",
]
