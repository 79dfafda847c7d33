"""Small process files written inline by the engine tests."""


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
