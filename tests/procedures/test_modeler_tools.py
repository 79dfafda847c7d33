"""What a designer sees in Camunda Modeler: the procedure diagrams raise no problem in its problems
panel (bpmnlint with Modeler's rules), every procedure names who may start it, and the service's
element templates are valid for the Modeler and, applied to a diagram, deploy."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from tests.support.bpmn_text import BPMN, CAMUNDA
from tests.support.http import deploy_bytes
from tests.support.paths import DIAGRAMS, MODELER, NPM_HINT, ROOT

TEMPLATES = sorted((ROOT / "modeler" / "element-templates").glob("*.json"))
CONTRACT_OF_FILE_PREFIX = {"iso14000": "iso14000.md", "eco_park": "eco-park.md",
                           "clean_production": "clean-production.md"}


def run_node(script: str, *paths: Path) -> dict[str, list]:
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"node is not on PATH; {NPM_HINT}")
    for package in ("bpmnlint", "bpmnlint-plugin-camunda-compat", "@bpmn-io/element-templates-validator"):
        if not (MODELER / "node_modules" / package / "package.json").is_file():
            pytest.fail(f"tests/modeler/node_modules/{package} is missing; {NPM_HINT}")
    result = subprocess.run([node, str(MODELER / script), *map(str, paths)], capture_output=True, text=True,
                            timeout=120, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def documented_warnings(prefix: str) -> set[tuple[str, str]]:
    """(element id, rule) pairs the family's contract page explains under "## Modeler warnings"."""
    page = (ROOT / "docs" / "procedures" / CONTRACT_OF_FILE_PREFIX[prefix]).read_text(encoding="utf-8")
    section = page.partition("## Modeler warnings")[2].partition("\n## ")[0]
    explained = set()
    for line in section.splitlines():
        quoted = re.findall(r"`([^`]+)`", line)
        if line.startswith("|") and len(quoted) >= 2:
            explained.add((quoted[0], quoted[1]))
    return explained


def test_the_procedures_raise_no_problem_in_the_modelers_panel() -> None:
    problems = []
    for file, reports in run_node("lint.mjs", *DIAGRAMS).items():
        name = Path(file).name
        prefix = next(p for p in CONTRACT_OF_FILE_PREFIX if name.startswith(p))
        explained = documented_warnings(prefix)
        for report in reports:
            if report["category"] != "warn" or (report["id"], report["rule"]) not in explained:
                problems.append(f"{name}: {report['id']} {report['rule']} ({report['category']}): {report['message']}")
    assert not problems, "bpmnlint (Camunda Modeler's problems panel):\n" + "\n".join(problems)


def test_the_lint_sees_a_gateway_that_forks_and_joins(tmp_path: Path) -> None:
    broken = tmp_path / "broken.bpmn"
    broken.write_text("""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:task id="a"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:task>
    <bpmn:exclusiveGateway id="both"><bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="both" />
    <bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="both" />
    <bpmn:sequenceFlow id="f3" sourceRef="both" targetRef="a" />
    <bpmn:sequenceFlow id="f4" sourceRef="both" targetRef="end" />
  </bpmn:process></bpmn:definitions>""", encoding="utf-8")
    [reports] = run_node("lint.mjs", broken).values()
    assert {"id": "both", "rule": "no-gateway-join-fork", "category": "error",
            "message": "Gateway forks and joins"} in reports


def test_every_procedure_names_who_may_start_it() -> None:
    unnamed = []
    for path in DIAGRAMS:
        for process in etree.parse(str(path)).getroot().iterfind(f"{{{BPMN}}}process"):
            if process.get("isExecutable") == "true" and not (
                    process.get(f"{{{CAMUNDA}}}candidateStarterGroups")
                    or process.get(f"{{{CAMUNDA}}}candidateStarterUsers")):
                unnamed.append(f"{path.name}: {process.get('id')}")
    assert not unnamed, "processes without camunda:candidateStarterGroups: " + ", ".join(unnamed)


def test_the_element_templates_are_valid_for_the_modeler(tmp_path: Path) -> None:
    assert {path.stem for path in TEMPLATES} >= {"park-standing", "expert-draw", "agency-standing",
                                                  "start-process-for-list", "confidential-variables",
                                                  "working-day-deadline"}
    assert run_node("templates.mjs", *TEMPLATES) == {str(path): [] for path in TEMPLATES}
    broken = tmp_path / "broken.json"
    template = json.loads(TEMPLATES[0].read_text(encoding="utf-8"))
    del template[0]["properties"][0]["binding"]["name"]
    broken.write_text(json.dumps(template), encoding="utf-8")
    [errors] = run_node("templates.mjs", broken).values()
    assert any("requires name" in error for error in errors), errors


# Values a designer would type where a template leaves a field empty.
TYPED = {"startProcess": "listed_case", "startBusinessKey": "enterprise_id", "startProcessFor": "enterprises",
         "confidentialVariables": "audit_data", "parkStandingCause": "cause"}
TAGS = {"bpmn:Process": None, "bpmn:UserTask": "userTask", "bpmn:Task": "task", "bpmn:EndEvent": "endEvent"}


def applied(template: dict) -> bytes:
    """A diagram with the template applied as Camunda Modeler applies it: the element carries the
    template's id and version, and each binding its value."""
    kind = next(kind for kind in template["appliesTo"] if kind in TAGS)
    attributes = {"camunda:modelerTemplate": template["id"], "camunda:modelerTemplateVersion": str(template["version"])}
    properties = {}
    for field in template["properties"]:
        value = field.get("value", TYPED.get(field["binding"]["name"], ""))
        pattern = field.get("constraints", {}).get("pattern")
        if pattern:
            assert re.fullmatch(pattern["value"] if isinstance(pattern, dict) else pattern, value), (field, value)
        if field["binding"]["type"] == "camunda:property":
            if value:
                properties[field["binding"]["name"]] = value
        else:
            attributes[field["binding"]["name"]] = value
    extension = ("<bpmn:extensionElements><camunda:properties>" + "".join(
        f'<camunda:property name="{name}" value="{value}" />' for name, value in properties.items())
        + "</camunda:properties></bpmn:extensionElements>") if properties else ""
    shown = " ".join(f'{name}="{value}"' for name, value in attributes.items())
    if TAGS[kind] is None:
        process_attributes, process_extension, element = shown, extension, '<bpmn:userTask id="step" />'
    else:
        tag = TAGS[kind]
        process_attributes, process_extension = "", ""
        element = f'<bpmn:{tag} id="step" {shown}>{extension}</bpmn:{tag}>'
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="{CAMUNDA}" id="d"
    targetNamespace="t"><bpmn:process id="templated" isExecutable="true" {process_attributes}>{process_extension}
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="step" />
  {element}<bpmn:sequenceFlow id="f2" sourceRef="step" targetRef="end" /><bpmn:endEvent id="end" />
</bpmn:process></bpmn:definitions>""".encode()


@pytest.mark.parametrize("path", TEMPLATES, ids=[path.stem for path in TEMPLATES])
def test_a_template_applied_to_a_diagram_deploys(client, path: Path) -> None:
    for template in json.loads(path.read_text(encoding="utf-8")):
        response = deploy_bytes(client, f"{path.stem}.bpmn", applied(template))
        assert response.status_code == 200, response.text
        assert [d["key"] for d in response.json()["deployedProcessDefinitions"].values()] == ["templated"]


def test_a_templated_deadline_counts_working_days(client) -> None:
    [template] = json.loads((ROOT / "modeler" / "element-templates" / "working-day-deadline.json").read_text())
    deploy_bytes(client, "deadline.bpmn", applied(template)).raise_for_status()
    instance = client.post("/process-definition/key/templated/start", json={}).json()
    [task] = client.get("/task", params={"processInstanceId": instance["id"]}).json()
    # Started Monday 28 September 2026 (the start day is not counted): 29-30 Sep are working days 1-2;
    # 1-7 October is the National Day holiday; Thu 8, Fri 9 and the make-up Saturday 10 October are 3-5;
    # 12-16, 19-23 and 26-30 October are 6-20. The last day is Friday 30 October: due at its end.
    assert task["due"] == "2026-10-31T00:00:00.000+0800"
