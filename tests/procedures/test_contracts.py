"""The contract pages (docs/procedures/*.md) name everything an integrator drives in the diagrams:
every user task and its form fields, start variables, messages, external-task topics, timers and end
events. A diagram that gains an element its page does not name fails here."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NS = {"bpmn": BPMN, "camunda": CAMUNDA}
# Diagram file prefix → its contract page.
PAGES = {"iso14000": "iso14000.md", "eco_park": "eco-park.md", "clean_production": "clean-production.md"}


def contract_of(diagram: Path) -> Path:
    prefix = next(prefix for prefix in PAGES if diagram.name.startswith(prefix))
    return ROOT / "docs" / "procedures" / PAGES[prefix]


def named_things(diagram: Path) -> set[str]:
    root = etree.parse(str(diagram)).getroot()
    names = {process.get("id") for process in root.iterfind("bpmn:process", NS)}
    names |= {message.get("name") for message in root.iterfind("bpmn:message", NS)}
    for tag in ("userTask", "endEvent", "intermediateCatchEvent", "boundaryEvent"):
        names |= {element.get("id") for element in root.iterfind(f".//bpmn:{tag}", NS)}
    names |= {task.get(f"{{{CAMUNDA}}}topic") for task in root.iterfind(".//bpmn:serviceTask", NS)}
    names |= {field.get("id") for field in root.iterfind(".//camunda:formField", NS)}
    names |= {parameter.get("name") for parameter in root.iterfind(".//camunda:outputParameter", NS)}
    # Elements whose properties give them a meaning to the service (the park register, expert draws).
    names |= {prop.getparent().getparent().getparent().get("id")
              for prop in root.iterfind(".//camunda:properties/camunda:property", NS)}
    return names


DIAGRAMS = sorted((ROOT / "bpmn").glob("*.bpmn"))


@pytest.mark.parametrize("diagram", DIAGRAMS, ids=[path.name for path in DIAGRAMS])
def test_the_contract_page_names_every_element_an_integrator_drives(diagram):
    page = contract_of(diagram).read_text(encoding="utf-8")
    quoted = set(re.findall(r"`([^`]+)`", page))
    missing = sorted(name for name in named_things(diagram) if name not in quoted)
    assert not missing, f"{contract_of(diagram).name} does not name: {', '.join(missing)}"


def test_every_procedure_diagram_has_a_contract_page():
    assert DIAGRAMS, "bpmn/ holds no procedure diagram"
    for diagram in DIAGRAMS:
        assert contract_of(diagram).is_file()
