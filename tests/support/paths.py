"""Where the tests find the project's files: sample processes, the procedures in bpmn/, scenarios
and the Camunda Modeler tools."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "bpmn"
PROCESSES = ROOT / "bpmn"
DIAGRAMS = sorted(PROCESSES.glob("*.bpmn"))
SCENARIOS = ROOT / "tests" / "scenarios"
MODELER = ROOT / "tests" / "modeler"
NPM_HINT = "run `npm ci --prefix tests/modeler` (Node.js and npm required)"
