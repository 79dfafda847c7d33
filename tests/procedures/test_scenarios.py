"""The proof of the procedures (docs/scenarios.md): every scenario file under tests/scenarios/ runs
against the service over real HTTP and must pass; together they name every rule ID of each family
that has diagrams and walk every path of every gateway in bpmn/. A failure prints the timeline up to
the step that went otherwise than the scenario tells."""
from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest
from lxml import etree

from app.scenarios import ScenarioResult, load_scenario, run_scenario
from app.scenarios.accounts import create_accounts
from tests.support.paths import ROOT, SCENARIOS
from tests.support.service import ADMIN_AUTH, reset

FILES = sorted(SCENARIOS.rglob("*.yaml"))
DIAGRAMS = sorted((ROOT / "bpmn").glob("*.bpmn"))
BPMN = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
# Rule IDs of the specification (procedures.md) by family, and the diagrams' file prefix per family.
FAMILIES = {"ISO": ("iso14000", 14), "ECO": ("eco_park", 20), "CPA": ("clean_production", 16)}

# Results of the scenario runs of this session, so that the coverage checks need not run them again.
_results: dict[Path, ScenarioResult] = {}


def run(service, path: Path) -> ScenarioResult:
    if path not in _results:
        scenario = load_scenario(path)
        create_accounts(service.services, scenario)
        with httpx.Client(base_url=service.base_url, auth=ADMIN_AUTH, timeout=30) as http:
            _results[path] = run_scenario(http, scenario)
    return _results[path]


@pytest.mark.parametrize("path", FILES, ids=[os.path.relpath(path, SCENARIOS) for path in FILES])
def test_scenario(service, path: Path):
    result = run(service, path)
    assert result.passed, result.report()


def test_every_rule_of_a_family_with_diagrams_is_named_by_a_scenario():
    named = {rule for path in FILES for rule in load_scenario(path).covers}
    families = [family for family, (prefix, _) in FAMILIES.items()
                if any(diagram.name.startswith(prefix) for diagram in DIAGRAMS)]
    assert families, "bpmn/ holds no procedure diagram"
    missing = [f"{family}-{number:02d}" for family in families for number in range(1, FAMILIES[family][1] + 1)
               if f"{family}-{number:02d}" not in named]
    assert not missing, f"no scenario names {', '.join(missing)}"
    unknown = sorted(rule for rule in named if not re.fullmatch(r"(ISO|ECO|CPA)-\d\d", rule)
                     or int(rule[4:]) > FAMILIES[rule[:3]][1])
    assert not unknown, f"scenarios name rules the specification does not have: {', '.join(unknown)}"


def gateway_paths_of(diagram: Path) -> set[tuple[str, str, str]]:
    root = etree.parse(str(diagram)).getroot()
    paths = set()
    for process in root.iterfind("bpmn:process", BPMN):
        gateways = {element.get("id") for tag in ("exclusiveGateway", "eventBasedGateway")
                    for element in process.iter(f"{{{BPMN['bpmn']}}}{tag}")}
        for flow in process.iter(f"{{{BPMN['bpmn']}}}sequenceFlow"):
            if flow.get("sourceRef") in gateways:
                paths.add((process.get("id"), flow.get("sourceRef"), flow.get("targetRef")))
    return paths


def test_every_path_of_every_gateway_is_walked_by_a_scenario(service):
    walked = set()
    for path in FILES:
        if path not in _results:
            reset(service)  # each scenario starts on an empty service, as in its own test
        walked |= {(key, *pair) for key, pairs in run(service, path).paths.items() for pair in pairs}
    expected = set().union(*(gateway_paths_of(diagram) for diagram in DIAGRAMS))
    missing = sorted(expected - walked)
    assert not missing, "gateway paths no scenario walks: " + ", ".join("/".join(path) for path in missing)
