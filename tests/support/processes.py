"""Inline processes that several test modules deploy."""
from __future__ import annotations

from tests.support.bpmn_text import process

# A case whose audit data only the region's auditors may read (CPA-16), reviewed by the region.
SECRET = process("secret_case", """
  <bpmn:extensionElements><camunda:properties>
    <camunda:property name="confidentialVariables" value="audit_data" />
    <camunda:property name="confidentialReaders" value="xj-auditors" />
  </camunda:properties></bpmn:extensionElements>
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  <bpmn:userTask id="review" name="审查" camunda:candidateGroups="xj-urumqi-env">
    <bpmn:extensionElements><camunda:formData><camunda:formField id="audit_data" type="string" />
    </camunda:formData></bpmn:extensionElements></bpmn:userTask>
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" />""")

# A provincial review due 15 days after it opens.
TIMED = process("timed_review", """
  <bpmn:startEvent id="start" /><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
  <bpmn:userTask id="review" name="省级审查" camunda:candidateGroups="zj-env" camunda:dueDate="${addDays(now(), 15)}" />
  <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" /><bpmn:endEvent id="end" name="办结" />""")

# A business rule task routing by the decision table `grading` (tests.support.bpmn_text.grading).
GRADED = process("graded", """
  <bpmn:startEvent id="start" />
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="grade" />
  <bpmn:businessRuleTask id="grade" name="分级" camunda:decisionRef="grading" camunda:resultVariable="level"
      camunda:mapDecisionResult="singleEntry" />
  <bpmn:sequenceFlow id="f2" sourceRef="grade" targetRef="supervise" />
  <bpmn:userTask id="supervise" name="监管" camunda:candidateGroups="${level}-env" />
  <bpmn:sequenceFlow id="f3" sourceRef="supervise" targetRef="end" />
  <bpmn:endEvent id="end" />""")
