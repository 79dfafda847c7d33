"""The procedure diagrams in bpmn/ open in Camunda Modeler 5 (Camunda Platform 7) as readable
diagrams and trace every element to a rule of the specification (procedures.md, modeling.md).

Each check lists every violation it finds, naming the element ids. The same checks run on two sample
files (tests/fixtures/bpmn) and on broken copies of one, so that the module proves it sees what it
claims to see. The import check as bpmn-js does it lives in tests/modeler (run
`npm ci --prefix tests/modeler` once)."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from tests.support.bpmn_text import BPMN, BPMNDI, CAMUNDA, DC, DI, MODELER_NS
from tests.support.paths import DIAGRAMS, MODELER, NPM_HINT, ROOT

DECISIONS = sorted((ROOT / "bpmn").glob("*.dmn"))
SAMPLES = [
    ROOT / "tests" / "fixtures" / "bpmn" / "eco_review.bpmn",
    ROOT / "tests" / "fixtures" / "bpmn" / "clients" / "review_and_notify.bpmn",
]


# The rule IDs of the specification (shared/procedures.md: ISO-01..ISO-14, ECO-01..ECO-20,
# CPA-01..CPA-16). That page lives outside this repository, so its ranges are written down here;
# change them together with it.
RULE_FAMILIES = {"ISO": 14, "ECO": 20, "CPA": 16}
RULE_IDS = {f"{family}-{number:02d}" for family, count in RULE_FAMILIES.items() for number in range(1, count + 1)}
# Which diagrams belong to which family, by the start of their file name.
FAMILY_OF_FILE_PREFIX = {"iso14000": "ISO", "eco_park": "ECO", "clean_production": "CPA"}

TASKS = {"task", "userTask", "serviceTask", "scriptTask", "sendTask", "receiveTask", "manualTask", "businessRuleTask"}
SUBPROCESSES = {"subProcess", "transaction", "adHocSubProcess"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
FLOW_NODES = TASKS | SUBPROCESSES | EVENTS | GATEWAYS | {"callActivity"}
CONNECTIONS = {"sequenceFlow", "messageFlow"}

ENGLISH_ID = re.compile(r"^[a-z][a-z0-9_]*$")
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
CITED = re.compile(r"(?<![A-Za-z])(ISO|ECO|CPA)-(\d+)")
TOLERANCE = 2.0  # px: how far an edge end may lie outside its shape, and how far shapes shrink


def local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def bpmn_elements(root: etree._Element, names: set[str]) -> list[etree._Element]:
    return [e for e in root.iter(f"{{{BPMN}}}*") if local(e) in names]


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def x2(self) -> float:
        return self.x + self.w

    @property
    def y2(self) -> float:
        return self.y + self.h

    def grown(self, by: float) -> Rect:
        return Rect(self.x - by, self.y - by, self.w + 2 * by, self.h + 2 * by)

    def overlap_area(self, other: Rect) -> float:
        return max(0.0, min(self.x2, other.x2) - max(self.x, other.x)) * max(
            0.0, min(self.y2, other.y2) - max(self.y, other.y)
        )

    def holds(self, point: tuple[float, float]) -> bool:
        return self.x <= point[0] <= self.x2 and self.y <= point[1] <= self.y2

    def contains(self, other: Rect) -> bool:
        return self.x <= other.x and self.y <= other.y and other.x2 <= self.x2 and other.y2 <= self.y2

    def centre(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)

    def crossed_by(self, a: tuple[float, float], b: tuple[float, float]) -> bool:
        """Whether the segment a-b passes through the open interior (Liang-Barsky clipping; a
        segment that only runs along the border or touches a corner does not)."""
        if self.w <= 0 or self.h <= 0:
            return False
        t0, t1 = 0.0, 1.0
        dx, dy = b[0] - a[0], b[1] - a[1]
        for p, q in ((-dx, a[0] - self.x), (dx, self.x2 - a[0]), (-dy, a[1] - self.y), (dy, self.y2 - a[1])):
            if p == 0:
                if q < 0:
                    return False
            elif p < 0:
                t0 = max(t0, q / p)
            else:
                t1 = min(t1, q / p)
        if t0 > t1:
            return False
        mid = ((t0 + t1) / 2 * dx + a[0], (t0 + t1) / 2 * dy + a[1])
        return self.x < mid[0] < self.x2 and self.y < mid[1] < self.y2


@dataclass
class Shape:
    di_id: str
    element: str
    rect: Rect
    expanded: bool


@dataclass
class Edge:
    di_id: str
    element: str
    points: list[tuple[float, float]]


class Diagram:
    """A parsed BPMN file: its semantic elements by id and its diagram interchange per plane."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.by_id = {e.get("id"): e for e in root.iter() if isinstance(e.tag, str) and e.get("id")}
        self.flow_nodes = bpmn_elements(root, FLOW_NODES)
        self.lanes = bpmn_elements(root, {"lane"})
        self.participants = bpmn_elements(root, {"participant"})
        self.connections = bpmn_elements(root, CONNECTIONS)
        self.planes: list[tuple[str, list[Shape], list[Edge]]] = []
        for plane in root.iter(f"{{{BPMNDI}}}BPMNPlane"):
            shapes = [self._shape(s) for s in plane.iter(f"{{{BPMNDI}}}BPMNShape")]
            edges = [self._edge(e) for e in plane.iter(f"{{{BPMNDI}}}BPMNEdge")]
            self.planes.append((plane.get("id", "?"), [s for s in shapes if s], edges))
        self.lanes_of: dict[str, list[str]] = defaultdict(list)
        for lane in self.lanes:
            for ref in lane.iterfind(f"{{{BPMN}}}flowNodeRef"):
                self.lanes_of[(ref.text or "").strip()].append(lane.get("id"))
        self.participant_of_process = {
            p.get("processRef"): p.get("id") for p in self.participants if p.get("processRef")
        }

    @staticmethod
    def _shape(shape: etree._Element) -> Shape | None:
        bounds = shape.find(f"{{{DC}}}Bounds")
        if bounds is None:
            return None
        rect = Rect(*(float(bounds.get(k, "nan")) for k in ("x", "y", "width", "height")))
        return Shape(shape.get("id", "?"), shape.get("bpmnElement", ""), rect, shape.get("isExpanded") == "true")

    @staticmethod
    def _edge(edge: etree._Element) -> Edge:
        points = [(float(p.get("x", "nan")), float(p.get("y", "nan"))) for p in edge.iterfind(f"{{{DI}}}waypoint")]
        return Edge(edge.get("id", "?"), edge.get("bpmnElement", ""), points)

    def containers(self, element_id: str) -> set[str]:
        """The lanes, participant and subprocesses an element is drawn inside of (by the model)."""
        element = self.by_id.get(element_id)
        if element is None:
            return set()
        found: set[str] = set()
        if local(element) == "boundaryEvent" and element.get("attachedToRef"):
            found |= self.containers(element.get("attachedToRef"))
        found.update(self.lanes_of.get(element_id, []))
        parent = element.getparent()
        while parent is not None:
            if local(parent) in SUBPROCESSES:
                found.add(parent.get("id"))
                found.update(self.lanes_of.get(parent.get("id"), []))
            elif local(parent) == "lane":
                found.add(parent.get("id"))
            elif local(parent) == "process" and parent.get("id") in self.participant_of_process:
                found.add(self.participant_of_process[parent.get("id")])
            parent = parent.getparent()
        return found


def parse(path: Path) -> Diagram:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
    return Diagram(etree.parse(str(path), parser).getroot())


# -- the checks: each returns the list of violations, one line each naming the element ----------


def check_root(d: Diagram) -> list[str]:
    root, problems = d.root, []
    if root.tag != f"{{{BPMN}}}definitions":
        problems.append(f"root is <{root.tag}>, not bpmn:definitions")
    if root.nsmap.get("camunda") != CAMUNDA:
        problems.append(f'{root.get("id")}: xmlns:camunda="{CAMUNDA}" is not declared on the root')
    if root.get("exporter") != "Camunda Modeler":
        problems.append(f'{root.get("id")}: exporter is {root.get("exporter")!r}, not "Camunda Modeler"')
    platform = root.get(f"{{{MODELER_NS}}}executionPlatform")
    if platform is not None and platform != "Camunda Platform":
        problems.append(f"{root.get('id')}: modeler:executionPlatform is {platform!r}, not 'Camunda Platform' (7)")
    processes = bpmn_elements(root, {"process"})
    if not processes:
        problems.append("no bpmn:process")
    for process in processes:
        if process.get("isExecutable") != "true":
            problems.append(f'{process.get("id")}: process is not isExecutable="true"')
    return problems


def check_interchange(d: Diagram) -> list[str]:
    problems = []
    shaped: dict[str, list[str]] = defaultdict(list)
    for plane_id, shapes, _ in d.planes:
        for shape in shapes:
            shaped[shape.element].append(plane_id)
    for shape in d.root.iter(f"{{{BPMNDI}}}BPMNShape"):
        if shape.find(f"{{{DC}}}Bounds") is None:
            problems.append(f"{shape.get('id')}: BPMNShape without dc:Bounds")
    for element in d.flow_nodes + d.lanes + d.participants:
        planes = shaped.get(element.get("id"), [])
        if not planes:
            problems.append(f"{element.get('id')}: {local(element)} has no BPMNShape")
        elif len(planes) != len(set(planes)):
            problems.append(f"{element.get('id')}: {local(element)} is drawn more than once on one plane")
    edges = {edge.element: edge for _, _, plane_edges in d.planes for edge in plane_edges}
    for connection in d.connections:
        edge = edges.get(connection.get("id"))
        if edge is None:
            problems.append(f"{connection.get('id')}: {local(connection)} has no BPMNEdge")
        elif len(edge.points) < 2:
            problems.append(f"{connection.get('id')}: BPMNEdge {edge.di_id} has {len(edge.points)} waypoint(s)")
    for di in d.root.iter(f"{{{BPMNDI}}}*"):
        for attribute in ("bpmnElement", "sourceElement", "targetElement"):
            ref = di.get(attribute)
            if ref is not None and ref not in d.by_id:
                problems.append(f"{di.get('id')}: {local(di)} {attribute}={ref!r} points at no element")
    return problems


def check_layout(d: Diagram) -> list[str]:
    problems = []
    for di in d.root.iter(f"{{{DC}}}Bounds", f"{{{DI}}}waypoint"):
        if float(di.get("x", "0")) < 0 or float(di.get("y", "0")) < 0:
            owner = next((a.get("id") for a in di.iterancestors() if a.get("id")), "?")
            problems.append(f"{owner}: negative coordinate ({di.get('x')}, {di.get('y')})")
    for _, shapes, edges in d.planes:
        problems += _overlaps(d, shapes) + _containment(d, shapes) + _edges(d, shapes, edges)
    return problems


def _overlaps(d: Diagram, shapes: list[Shape]) -> list[str]:
    problems = []
    for i, a in enumerate(shapes):
        for b in shapes[i + 1 :]:
            if a.rect.overlap_area(b.rect) <= 0:
                continue
            ea, eb = d.by_id.get(a.element), d.by_id.get(b.element)
            if ea is not None and ea.get("attachedToRef") == b.element:
                continue
            if eb is not None and eb.get("attachedToRef") == a.element:
                continue
            if a.element in d.containers(b.element) or b.element in d.containers(a.element):
                continue  # whether the inner one stays inside is _containment's business
            problems.append(f"{a.element} and {b.element}: shapes overlap")
    return problems


def _containment(d: Diagram, shapes: list[Shape]) -> list[str]:
    """Flow nodes lie inside their lanes, pool and expanded subprocess (a boundary event: its
    centre, since it sits on its host's border)."""
    problems = []
    by_element = {s.element: s for s in shapes}
    for node in d.flow_nodes:
        shape = by_element.get(node.get("id"))
        if shape is None:
            continue
        host = by_element.get(node.get("attachedToRef") or "")
        if host is not None and host.rect.overlap_area(shape.rect) <= 0:
            problems.append(f"{node.get('id')}: boundary event not drawn on its host {node.get('attachedToRef')}")
        for container in sorted(d.containers(node.get("id"))):
            outer = by_element.get(container)
            if outer is None or (local(d.by_id[container]) in SUBPROCESSES and not outer.expanded):
                continue
            inside = (
                outer.rect.holds(shape.rect.centre())
                if local(node) == "boundaryEvent"
                else outer.rect.contains(shape.rect)
            )
            if not inside:
                problems.append(f"{node.get('id')}: not drawn inside its {local(d.by_id[container])} {container}")
    return problems


def _edges(d: Diagram, shapes: list[Shape], edges: list[Edge]) -> list[str]:
    problems = []
    by_element = {s.element: s for s in shapes}
    for edge in edges:
        connection = d.by_id.get(edge.element)
        if connection is None or local(connection) not in CONNECTIONS or len(edge.points) < 2:
            continue
        ends = {"source": connection.get("sourceRef"), "target": connection.get("targetRef")}
        for end, point in (("source", edge.points[0]), ("target", edge.points[-1])):
            shape = by_element.get(ends[end])
            if shape is None:
                problems.append(f"{edge.element}: its {end} {ends[end]} has no shape on the edge's plane")
            elif not shape.rect.grown(TOLERANCE).holds(point):
                problems.append(
                    f"{edge.element}: {'first' if end == 'source' else 'last'} waypoint {point} is off its {end} {ends[end]}"
                )
        related = set(ends.values()) | d.containers(ends["source"]) | d.containers(ends["target"])
        for shape in shapes:
            kind = local(d.by_id[shape.element]) if shape.element in d.by_id else ""
            # Lanes are bands of their pool: flows cross them by design.
            if shape.element in related or kind == "lane":
                continue
            container = kind == "participant" or (kind in SUBPROCESSES and shape.expanded)
            if container and all(shape.rect.holds(p) for p in edge.points):
                continue
            inner = shape.rect.grown(-TOLERANCE)
            if any(inner.crossed_by(a, b) for a, b in itertools.pairwise(edge.points)):
                problems.append(f"{edge.element}: passes through {shape.element}")
    return problems


def check_naming(d: Diagram) -> list[str]:
    problems = []
    for node in d.flow_nodes:
        node_id, name = node.get("id") or "", (node.get("name") or "").strip()
        if not ENGLISH_ID.match(node_id):
            problems.append(f"{node_id!r}: {local(node)} id is not English snake case ({ENGLISH_ID.pattern})")
        if not CJK.search(name):
            problems.append(f"{node_id}: {local(node)} name {name!r} has no Chinese characters")
    return problems


def documentation(element: etree._Element) -> str:
    return " ".join("".join(doc.itertext()) for doc in element.iterfind(f"{{{BPMN}}}documentation"))


def cited_rules(text: str) -> tuple[set[str], set[str]]:
    """The known rule IDs a text cites, and the unknown ones."""
    cited = {f"{family}-{number}" for family, number in CITED.findall(text)}
    return cited & RULE_IDS, cited - RULE_IDS


def check_traceability(d: Diagram) -> list[str]:
    problems = []
    for node in d.flow_nodes:
        text = documentation(node).strip()
        known, unknown = cited_rules(text)
        if not text:
            problems.append(f"{node.get('id')}: {local(node)} has no bpmn:documentation")
        elif not known:
            problems.append(f"{node.get('id')}: documentation cites no rule ID of procedures.md: {text[:60]!r}")
        if unknown:
            problems.append(f"{node.get('id')}: documentation cites unknown rule ID(s) {sorted(unknown)}")
    return problems


def check_camunda(d: Diagram) -> list[str]:
    """Who may act, what an external worker fetches, and where each exclusive gateway goes."""
    problems = []
    for task in bpmn_elements(d.root, {"userTask"}):
        # A task offered to experts drawn from the pool (ECO-20) gets its candidates from the draw.
        drawn = task.find(f"{{{BPMN}}}extensionElements/{{{CAMUNDA}}}properties/{{{CAMUNDA}}}property[@name='expertDraw']")
        if drawn is None and not any(
            (task.get(f"{{{CAMUNDA}}}{a}") or "").strip() for a in ("candidateGroups", "candidateUsers", "assignee")
        ):
            problems.append(f"{task.get('id')}: user task has no camunda:candidateGroups/candidateUsers/assignee "
                            "nor an expertDraw property")
    for task in bpmn_elements(d.root, {"serviceTask"}):
        if task.get(f"{{{CAMUNDA}}}type") != "external" or not (task.get(f"{{{CAMUNDA}}}topic") or "").strip():
            problems.append(f'{task.get("id")}: service task is not camunda:type="external" with a camunda:topic')
    flows = bpmn_elements(d.root, {"sequenceFlow"})
    for gateway in bpmn_elements(d.root, {"exclusiveGateway"}):
        outgoing = [f for f in flows if f.get("sourceRef") == gateway.get("id")]
        default = gateway.get("default")
        if default and default not in {f.get("id") for f in outgoing}:
            problems.append(f"{gateway.get('id')}: default flow {default} is not one of its outgoing flows")
        if len(outgoing) < 2:
            continue
        for flow in outgoing:
            condition = flow.find(f"{{{BPMN}}}conditionExpression")
            if flow.get("id") != default and (condition is None or not (condition.text or "").strip()):
                problems.append(
                    f"{flow.get('id')}: leaves exclusive gateway {gateway.get('id')} without a condition (and is not its default)"
                )
    return problems


CHECKS: dict[str, Callable[[Diagram], list[str]]] = {
    "root": check_root,
    "interchange": check_interchange,
    "layout": check_layout,
    "naming": check_naming,
    "traceability": check_traceability,
    "camunda": check_camunda,
}


def assert_clean(problems: list[str], what: str) -> None:
    assert not problems, f"{what}: {len(problems)} violation(s)\n  " + "\n  ".join(problems)


# -- the diagrams ----------------------------------------------------------------------------


@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("path", DIAGRAMS, ids=[p.name for p in DIAGRAMS])
def test_diagram(path: Path, check: str) -> None:
    assert_clean(CHECKS[check](parse(path)), f"bpmn/{path.name} {check}")


def test_every_rule_of_a_drawn_family_is_cited() -> None:
    """Each family that has diagrams cites every rule ID of its range somewhere in them."""
    missing = []
    for prefix, family in FAMILY_OF_FILE_PREFIX.items():
        files = [p for p in DIAGRAMS if p.name.startswith(prefix)]
        if not files:
            continue
        cited: set[str] = set()
        for path in files:
            for doc in parse(path).root.iter(f"{{{BPMN}}}documentation"):
                cited |= cited_rules("".join(doc.itertext()))[0]
        wanted = {rule for rule in RULE_IDS if rule.startswith(family + "-")}
        missing += [f"{rule} (in no {prefix}*.bpmn)" for rule in sorted(wanted - cited)]
    assert_clean(missing, "rule IDs cited by no diagram of their family")


def run_modeler_check(*paths: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"node is not on PATH: the Camunda Modeler import check needs it; {NPM_HINT}")
    for package in ("bpmn-moddle", "camunda-bpmn-moddle", "dmn-moddle", "camunda-dmn-moddle"):
        if not (MODELER / "node_modules" / package / "package.json").is_file():
            pytest.fail(f"tests/modeler/node_modules/{package} is missing; {NPM_HINT}")
    return subprocess.run(
        [node, str(MODELER / "check.mjs"), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


def test_diagrams_import_as_camunda_modeler_imports_them() -> None:
    result = run_modeler_check(*DIAGRAMS, *DECISIONS, *SAMPLES)
    assert result.returncode == 0, f"bpmn-moddle / dmn-moddle + camunda import:\n{result.stdout}{result.stderr}"


def test_the_modeler_check_sees_a_broken_decision_table(tmp_path: Path) -> None:
    broken = tmp_path / "broken.dmn"
    broken.write_text(DECISIONS[0].read_text(encoding="utf-8").replace("<inputEntry ", "<inputEntri ", 1),
                      encoding="utf-8")
    result = run_modeler_check(broken)
    assert result.returncode == 1 and "inputEntri" in result.stdout


def check_decision_file(path: Path) -> list[str]:
    """A DMN file as Camunda Modeler 5 saves it: exporter, a DRD shape per decision (so the decision
    shows in the requirements diagram), and every decision's description citing its rule."""
    root = etree.parse(str(path)).getroot()
    problems = []
    if root.get("exporter") != "Camunda Modeler":
        problems.append(f"{path.name}: exporter is {root.get('exporter')!r}, not 'Camunda Modeler'")
    ns = etree.QName(root).namespace
    shaped = {shape.get("dmnElementRef") for shape in root.iter() if etree.QName(shape).localname == "DMNShape"}
    decisions = root.findall(f"{{{ns}}}decision")
    if not decisions:
        problems.append(f"{path.name}: no decision")
    for decision in decisions:
        if decision.get("id") not in shaped:
            problems.append(f"{decision.get('id')}: decision has no DMNShape in the requirements diagram")
        description = decision.find(f"{{{ns}}}description")
        known, unknown = cited_rules(description.text or "" if description is not None else "")
        if not known or unknown:
            problems.append(f"{decision.get('id')}: description cites no known rule ID")
        if not CJK.search(decision.get("name") or ""):
            problems.append(f"{decision.get('id')}: name has no Chinese characters")
    return problems


@pytest.mark.parametrize("path", DECISIONS, ids=[p.name for p in DECISIONS])
def test_decision_file(path: Path) -> None:
    assert_clean(check_decision_file(path), f"bpmn/{path.name}")


# -- the checks prove themselves on samples and broken copies --------------------------------

def documented_sample() -> Diagram:
    """eco_review.bpmn with a rule cited on every flow node: a sample that passes every check."""
    d = parse(SAMPLES[0])
    for node in d.flow_nodes:
        doc = etree.Element(f"{{{BPMN}}}documentation")
        doc.text = "ECO-03 第十二条: 省级论证"
        node.insert(0, doc)
    return Diagram(d.root)


def di(d: Diagram, element: str) -> etree._Element:
    return next(e for e in d.root.iter(f"{{{BPMNDI}}}*") if e.get("bpmnElement") == element)


def move(d: Diagram, element: str, x: float, y: float) -> None:
    bounds = di(d, element).find(f"{{{DC}}}Bounds")
    bounds.set("x", str(x))
    bounds.set("y", str(y))


def route(d: Diagram, flow: str, *points: tuple[float, float]) -> None:
    edge = di(d, flow)
    for old in edge.findall(f"{{{DI}}}waypoint"):
        edge.remove(old)
    for x, y in points:
        etree.SubElement(edge, f"{{{DI}}}waypoint", x=str(x), y=str(y))


def drop(element: etree._Element) -> None:
    element.getparent().remove(element)


def cite(d: Diagram, element: str, text: str) -> None:
    d.by_id[element].find(f"{{{BPMN}}}documentation").text = text


BREAKAGES = {
    "shape removed": (
        lambda d: drop(di(d, "ministry_approval")),
        "interchange",
        "ministry_approval: userTask has no BPMNShape",
    ),
    "edge removed": (lambda d: drop(di(d, "flow_reject")), "interchange", "flow_reject: sequenceFlow has no BPMNEdge"),
    "dangling DI": (
        lambda d: di(d, "approved_end").set("bpmnElement", "gone"),
        "interchange",
        "bpmnElement='gone' points at no element",
    ),
    "shapes overlap": (
        lambda d: move(d, "rejected_end", 600, 250),
        "layout",
        "ministry_approval and rejected_end: shapes overlap",
    ),
    "edge through a shape": (
        lambda d: route(d, "flow_resubmit", (440, 160), (440, 260), (350, 260)),
        "layout",
        "flow_resubmit: passes through decision_gateway",
    ),
    "edge off its target": (
        lambda d: route(d, "flow_reject", (440, 285), (440, 380), (690, 380)),
        "layout",
        "last waypoint (690.0, 380.0) is off its target rejected_end",
    ),
    "negative coordinate": (
        lambda d: move(d, "application_received", -10, 242),
        "layout",
        "application_received_di: negative coordinate",
    ),
    "missing documentation": (
        lambda d: drop(d.by_id["decision_gateway"].find(f"{{{BPMN}}}documentation")),
        "traceability",
        "decision_gateway: exclusiveGateway has no bpmn:documentation",
    ),
    "unknown rule ID": (
        lambda d: cite(d, "approved_end", "ECO-21 第二十条"),
        "traceability",
        "approved_end: documentation cites unknown rule ID(s) ['ECO-21']",
    ),
    "name not Chinese": (
        lambda d: d.by_id["rejected_end"].set("name", "Rejected"),
        "naming",
        "rejected_end: endEvent name 'Rejected' has no Chinese characters",
    ),
    "id not English": (
        lambda d: d.by_id["rejected_end"].set("id", "不予批准"),
        "naming",
        "'不予批准': endEvent id is not English",
    ),
    "user task unassigned": (
        lambda d: [
            d.by_id["applicant_supplement"].attrib.pop(f"{{{CAMUNDA}}}{a}") for a in ("assignee", "candidateUsers")
        ],
        "camunda",
        "applicant_supplement: user task has no",
    ),
    "condition missing": (
        lambda d: drop(d.by_id["flow_reject"].find(f"{{{BPMN}}}conditionExpression")),
        "camunda",
        "flow_reject: leaves exclusive gateway decision_gateway without a condition",
    ),
    "not executable": (
        lambda d: d.by_id["eco_review"].set("isExecutable", "false"),
        "root",
        "eco_review: process is not isExecutable",
    ),
}


def test_documented_sample_passes_every_check() -> None:
    d = documented_sample()
    assert_clean([p for check in CHECKS.values() for p in check(d)], "eco_review.bpmn, documented")


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_a_broken_copy_is_reported(breakage: str) -> None:
    d = documented_sample()
    mutate, check, expected = BREAKAGES[breakage]
    mutate(d)
    problems = CHECKS[check](Diagram(d.root))  # re-read: ids may have changed
    assert any(expected in p for p in problems), f"{breakage}: {expected!r} not among {problems}"


def test_modeler_check_refuses_unknown_attributes_and_references(tmp_path: Path) -> None:
    text = SAMPLES[0].read_text(encoding="utf-8")
    (tmp_path / "unknown_attribute.bpmn").write_text(
        text.replace('camunda:priority="60"', 'camunda:priority="60" camunda:candidateGroup="x"'), encoding="utf-8"
    )
    (tmp_path / "unresolved.bpmn").write_text(
        text.replace('bpmnElement="ministry_approval"', 'bpmnElement="ministry_approvel"'), encoding="utf-8"
    )
    result = run_modeler_check(tmp_path / "unknown_attribute.bpmn", tmp_path / "unresolved.bpmn")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "unknown_attribute.bpmn: unknown attribute <camunda:candidateGroup>" in result.stdout
    assert "unresolved.bpmn: unresolved reference <ministry_approvel>" in result.stdout
