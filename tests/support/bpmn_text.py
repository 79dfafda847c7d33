"""Process and decision files written inline by the tests, and the XML namespaces they use."""
from __future__ import annotations

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
MODELER_NS = "http://camunda.org/schema/modeler/1.0"
DMN_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def definitions(body: str, process_id: str = "inline", executable: str = "true", root: str = "") -> dict[str, bytes]:
    """A one-process file in Camunda Modeler's dialect (without diagram layout); `root` holds the
    file-level declarations (messages, signals, errors)."""
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="definitions_inline"
    targetNamespace="http://bpmn.io/schema/bpmn">
{root}
  <bpmn:process id="{process_id}" isExecutable="{executable}">
{body}
  </bpmn:process>
</bpmn:definitions>
"""
    return {"inline.bpmn": xml.encode()}


HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">'
        '<bpmn:process id="{key}" isExecutable="true">')


def process(key: str, body: str) -> bytes:
    """A one-process file (the process `key`) around the elements of `body`."""
    return (HEAD.format(key=key) + body + "</bpmn:process></bpmn:definitions>").encode()


def properties(**values: str) -> str:
    """The camunda:properties extension of an element."""
    return ("<bpmn:extensionElements><camunda:properties>"
            + "".join(f'<camunda:property name="{name}" value="{value}" />' for name, value in values.items())
            + "</camunda:properties></bpmn:extensionElements>")


def grading(large_goes_to: str, version_tag: str | None = None) -> bytes:
    """The decision `grading`: a large size goes to `large_goes_to`, any other to prefecture."""
    tag = f' camunda:versionTag="{version_tag}"' if version_tag else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="{DMN_NS}" xmlns:camunda="http://camunda.org/schema/1.0/dmn" id="d" name="分级"
    namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="grading" name="分级监管"{tag}><decisionTable id="t" hitPolicy="FIRST">
    <input id="i1" label="规模"><inputExpression id="e1" typeRef="string"><text>size</text></inputExpression></input>
    <output id="o1" name="level" typeRef="string" />
    <rule id="large"><inputEntry id="a"><text>"large"</text></inputEntry><outputEntry id="b"><text>"{large_goes_to}"</text></outputEntry></rule>
    <rule id="other"><inputEntry id="c"><text>-</text></inputEntry><outputEntry id="d"><text>"prefecture"</text></outputEntry></rule>
  </decisionTable></decision>
</definitions>""".encode()


def timer_wait(key: str, duration: str, activity_id: str = "wait") -> bytes:
    """The process `key`: start, an intermediate timer of `duration` (ISO 8601), end."""
    return process(key, f"""
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="{activity_id}" />
  <bpmn:intermediateCatchEvent id="{activity_id}">
    <bpmn:timerEventDefinition><bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition>
  </bpmn:intermediateCatchEvent>
  <bpmn:sequenceFlow id="f2" sourceRef="{activity_id}" targetRef="end" /><bpmn:endEvent id="end" />""")
