"""Reading Camunda Modeler files into process models: what is read, and what is refused, naming the
element and the reason."""
from __future__ import annotations

import glob
import os
import time
from pathlib import Path

import pytest

from app.engine import ProcessModel, parse_deployment, validate_submission
from app.errors import FormValidationFailed, InvalidProcessModel
from tests.support.bpmn_text import definitions

FIXTURES = Path(__file__).parent.parent / "fixtures" / "bpmn"
ENGINE_FIXTURES = FIXTURES / "engine"


def fixture(name: str) -> dict[str, bytes]:
    return {name: (FIXTURES / name).read_bytes()}




def between_start_and_end(element: str, element_id: str) -> str:
    """start → the given element (its id is element_id) → end."""
    return f"""
    <bpmn:startEvent id="started"/>
    <bpmn:sequenceFlow id="flow_in" sourceRef="started" targetRef="{element_id}"/>
    {element}
    <bpmn:sequenceFlow id="flow_out" sourceRef="{element_id}" targetRef="ended"/>
    <bpmn:endEvent id="ended"/>"""


def refusal(resources: dict[str, bytes]) -> InvalidProcessModel:
    with pytest.raises(InvalidProcessModel) as caught:
        parse_deployment(resources)
    return caught.value


# -- what is read ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def eco_review() -> ProcessModel:
    models = parse_deployment(fixture("eco_review.bpmn"))
    assert [model.key for model in models] == ["eco_review"]
    return models[0]


def test_eco_review_is_read_with_its_name_resource_and_history_time_to_live(eco_review):
    assert eco_review.name == "生态环境审查"
    assert eco_review.resource_name == "eco_review.bpmn"
    assert eco_review.history_time_to_live == 180
    assert len(eco_review.checksum) == 64


def test_eco_review_has_its_three_user_tasks_with_names(eco_review):
    assert {key: task.name.source for key, task in eco_review.user_tasks.items() if task.name} == {
        "provincial_review": "省级生态环境部门审查",
        "ministry_approval": "生态环境部审批",
        "applicant_supplement": "申请人补正材料",
    }


def test_eco_review_start_form_asks_for_park_name_and_province(eco_review):
    assert [(f.id, f.label, f.type, f.required) for f in eco_review.start_form] == [
        ("park_name", "园区名称", "string", True),
        ("province", "所在省份", "string", True),
    ]


def test_the_provincial_review_is_offered_to_the_province_group_with_priority_60(eco_review):
    review = eco_review.user_tasks["provincial_review"]
    assert review.candidate_groups.source == "${province}-eco-env"
    assert review.candidate_groups.evaluate({"province": "gd"}) == "gd-eco-env"
    assert review.priority.evaluate({}) in ("60", 60)
    assert review.assignee is None


def test_the_provincial_review_form_declares_decision_opinion_and_score(eco_review):
    decision, opinion, score = eco_review.user_tasks["provincial_review"].form_fields
    assert (decision.id, decision.type, decision.required) == ("decision", "enum", True)
    assert decision.enum_values == (("approve", "同意"), ("reject", "不同意"), ("supplement", "补正"))
    assert (opinion.id, opinion.type, opinion.required, opinion.maxlength) == ("opinion", "string", True, 500)
    assert (score.id, score.type, score.required, score.min, score.max) == ("score", "long", False, 0, 100)


def test_the_supplement_task_is_assigned_to_the_applicant(eco_review):
    supplement = eco_review.user_tasks["applicant_supplement"]
    assert supplement.assignee.evaluate({"applicant": "zhangsan"}) == "zhangsan"
    assert supplement.candidate_groups is None
    assert [f.id for f in supplement.form_fields] == ["supplement_note"]


def test_the_ministry_approval_asks_a_required_boolean(eco_review):
    ministry = eco_review.user_tasks["ministry_approval"]
    assert ministry.candidate_groups.evaluate({}) == "mee-sti"
    assert [(f.id, f.type, f.required) for f in ministry.form_fields] == [("approved", "boolean", True)]


def test_eco_review_elements_carry_their_activity_types(eco_review):
    types = {key: info.activity_type for key, info in eco_review.elements.items()}
    assert types["application_received"] == "startEvent"
    assert types["provincial_review"] == "userTask"
    assert types["decision_gateway"] == "exclusiveGateway"
    assert types["approved_end"] == "noneEndEvent"
    assert "flow_approve" not in types  # sequence flows are not activities


def test_eco_review_conditions_are_known_to_the_model(eco_review):
    assert eco_review.condition_texts == {'${decision == "approve"}', '${decision == "reject"}',
                                          "${decision eq 'supplement'}"}


def test_a_deployment_of_several_files_gives_one_model_per_executable_process():
    resources = {**fixture("eco_review.bpmn"), **fixture("ten_step.bpmn")}
    models = {model.key: model for model in parse_deployment(resources)}
    assert set(models) == {"eco_review", "ten_step"}
    assert models["ten_step"].resource_name == "ten_step.bpmn"
    assert list(models["ten_step"].user_tasks) == [f"step_{n}" for n in range(1, 11)]


def test_a_non_executable_process_is_not_deployed_beside_an_executable_one():
    draft = definitions(between_start_and_end('<bpmn:userTask id="draft_task"/>', "draft_task"),
                        process_id="draft", executable="false")["inline.bpmn"]
    resources = {**fixture("eco_review.bpmn"), "draft.bpmn": draft}
    assert [model.key for model in parse_deployment(resources)] == ["eco_review"]


def test_documentation_form_key_and_due_date_of_a_user_task_are_read():
    models = parse_deployment(definitions(between_start_and_end(
        """<bpmn:userTask id="check" name="核查" camunda:formKey="embedded:app:forms/check.html"
               camunda:dueDate="${dueDate}" camunda:followUpDate="${followUp}" camunda:candidateUsers="a, b">
             <bpmn:documentation>核查现场材料</bpmn:documentation>
           </bpmn:userTask>""", "check")))
    check = models[0].user_tasks["check"]
    assert check.form_key == "embedded:app:forms/check.html"
    assert check.documentation == "核查现场材料"
    assert check.due_date.source == "${dueDate}"
    assert check.follow_up_date.source == "${followUp}"
    assert check.candidate_users.evaluate({}) == "a, b"


# -- timers ------------------------------------------------------------------------------------------

def timer_process(definition: str) -> dict[str, bytes]:
    return definitions(between_start_and_end(
        f"""<bpmn:intermediateCatchEvent id="wait_for_publicity">
              <bpmn:timerEventDefinition id="publicity_timer">{definition}</bpmn:timerEventDefinition>
            </bpmn:intermediateCatchEvent>""", "wait_for_publicity"))


@pytest.mark.parametrize("definition", [
    '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">P15D</bpmn:timeDuration>',
    '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">${publicityPeriod}</bpmn:timeDuration>',
    '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">2026-10-15T00:00:00+08:00</bpmn:timeDate>',
    '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">${publicityEnd}</bpmn:timeDate>',
])
def test_timers_written_as_camunda_modeler_writes_them_are_accepted(definition):
    model, = parse_deployment(timer_process(definition))
    assert model.elements["wait_for_publicity"].activity_type == "intermediateTimer"


def test_the_shipped_timer_fixture_parses():
    model, = parse_deployment({"timer_wait.bpmn": (ENGINE_FIXTURES / "timer_wait.bpmn").read_bytes()})
    assert model.key == "publicity_wait"
    assert list(model.user_tasks) == ["prepare_notice", "publish_result"]


def test_an_empty_timer_is_refused_naming_the_event():
    error = refusal(timer_process('<bpmn:timeDuration xsi:type="bpmn:tFormalExpression"> </bpmn:timeDuration>'))
    assert error.details["element"] == "wait_for_publicity"
    assert "empty" in error.details["reason"]


def test_a_timer_with_a_broken_expression_is_refused_naming_the_event():
    error = refusal(timer_process('<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">${P15D +}</bpmn:timeDuration>'))
    assert error.details["element"] == "wait_for_publicity"
    assert "timeDuration" in error.details["reason"]


# -- refused: code in the file -----------------------------------------------------------------------

def test_a_script_task_is_refused_naming_it():
    error = refusal(fixture("script_task.bpmn"))
    assert error.details["resource"] == "script_task.bpmn"
    assert error.details["element"] == "run_script"
    assert "script tasks are not run" in error.details["reason"]
    assert isinstance(error.details["line"], int)
    assert "run_script" in error.message
    assert not os.path.exists("/tmp/bpmn_pwned_script")


def test_the_condition_attack_is_refused_and_runs_nothing():
    error = refusal(fixture("condition_attack.bpmn"))
    assert error.details["element"] in ("attack_gateway", "flow_expression_condition", "flow_bare_condition")
    assert error.details["element"] in error.message
    assert "condition" in error.details["reason"]
    assert glob.glob("/tmp/bpmn_pwned_condition*") == []


def test_an_import_hidden_in_a_condition_expression_is_refused_as_invalid():
    error = refusal(condition_gateway("${__import__('os').system('touch /tmp/bpmn_pwned_condition') == 0}"))
    assert error.details["element"] == "flow_conditional"
    assert "__import__" in error.details["reason"]
    assert glob.glob("/tmp/bpmn_pwned_condition*") == []


def test_a_bare_python_condition_is_refused_as_not_an_expression():
    error = refusal(condition_gateway("__import__('os').system('touch /tmp/bpmn_pwned_condition2')"))
    assert error.details["element"] == "flow_conditional"
    assert "${...}" in error.details["reason"]
    assert glob.glob("/tmp/bpmn_pwned_condition*") == []


def test_a_condition_in_another_expression_language_is_refused():
    error = refusal(condition_gateway("approved == True", language=' language="python"'))
    assert error.details["element"] == "flow_conditional"
    assert "python" in error.details["reason"]


def condition_gateway(condition: str, language: str = "") -> dict[str, bytes]:
    return definitions(f"""
    <bpmn:startEvent id="started"/>
    <bpmn:sequenceFlow id="flow_in" sourceRef="started" targetRef="decide"/>
    <bpmn:exclusiveGateway id="decide" default="flow_default"/>
    <bpmn:sequenceFlow id="flow_conditional" sourceRef="decide" targetRef="end_a">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"{language}><![CDATA[{condition}]]></bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="flow_default" sourceRef="decide" targetRef="end_b"/>
    <bpmn:endEvent id="end_a"/>
    <bpmn:endEvent id="end_b"/>""")


def test_a_well_formed_condition_gateway_parses():
    model, = parse_deployment(condition_gateway('${decision == "approve"}'))
    assert model.condition_texts == {'${decision == "approve"}'}


def test_a_service_task_that_is_not_an_external_task_is_refused():
    error = refusal(definitions(between_start_and_end('<bpmn:serviceTask id="notify"/>', "notify")))
    assert error.details["element"] == "notify"
    assert 'camunda:type="external"' in error.details["reason"]


def test_an_external_task_without_topic_is_refused():
    error = refusal(definitions(between_start_and_end('<bpmn:serviceTask id="notify" camunda:type="external"/>',
                                                      "notify")))
    assert error.details["element"] == "notify"
    assert "camunda:topic" in error.details["reason"]


def test_an_external_service_task_with_a_topic_is_accepted():
    model, = parse_deployment(definitions(between_start_and_end(
        '<bpmn:serviceTask id="notify" camunda:type="external" camunda:topic="send-sms"/>', "notify")))
    assert model.elements["notify"].activity_type == "serviceTask"


def test_a_java_delegate_is_refused():
    error = refusal(definitions(between_start_and_end(
        '<bpmn:serviceTask id="archive" camunda:class="gov.mee.ArchiveDelegate"/>', "archive")))
    assert error.details["element"] == "archive"
    assert "camunda:class" in error.details["reason"]


@pytest.mark.parametrize("attribute, reason", [
    ('camunda:delegateExpression="${archiver}"', "delegate expressions"),
    ('camunda:expression="${archiver.run()}"', "service expressions"),
])
def test_delegate_and_service_expressions_are_refused(attribute, reason):
    error = refusal(definitions(between_start_and_end(f'<bpmn:serviceTask id="archive" {attribute}/>', "archive")))
    assert error.details["element"] == "archive"
    assert reason in error.details["reason"]


def test_an_execution_listener_is_refused_naming_its_element():
    error = refusal(definitions(between_start_and_end(
        """<bpmn:userTask id="review">
             <bpmn:extensionElements>
               <camunda:executionListener class="gov.mee.Audit" event="start"/>
             </bpmn:extensionElements>
           </bpmn:userTask>""", "review")))
    assert error.details["element"] == "review"
    assert "execution listeners" in error.details["reason"]


def test_a_task_listener_with_a_script_is_refused():
    error = refusal(definitions(between_start_and_end(
        """<bpmn:userTask id="review">
             <bpmn:extensionElements>
               <camunda:taskListener event="create">
                 <camunda:script scriptFormat="python">import os</camunda:script>
               </camunda:taskListener>
             </bpmn:extensionElements>
           </bpmn:userTask>""", "review")))
    assert error.details["element"] == "review"
    assert "listeners" in error.details["reason"]


def test_input_parameters_off_a_task_and_scripts_are_refused():
    error = refusal(definitions(between_start_and_end(
        """<bpmn:inclusiveGateway id="review">
             <bpmn:extensionElements>
               <camunda:inputOutput>
                 <camunda:inputParameter name="level">provincial</camunda:inputParameter>
               </camunda:inputOutput>
             </bpmn:extensionElements>
           </bpmn:inclusiveGateway>""", "review")))
    assert error.details["element"] == "review"
    assert "input parameters are read on a task, call activity, embedded subprocess, intermediate catch or throw " \
        "event" in error.details["reason"]
    error = refusal(definitions(between_start_and_end(
        """<bpmn:userTask id="review">
             <bpmn:extensionElements>
               <camunda:inputOutput>
                 <camunda:outputParameter name="level"><camunda:script scriptFormat="python">1</camunda:script>
                 </camunda:outputParameter>
               </camunda:inputOutput>
             </bpmn:extensionElements>
           </bpmn:userTask>""", "review")))
    assert "scripts are not supported" in error.details["reason"]
    error = refusal(definitions(between_start_and_end(
        """<bpmn:userTask id="review">
             <bpmn:extensionElements>
               <camunda:inputOutput>
                 <camunda:outputParameter name="level">${months &gt;= }</camunda:outputParameter>
               </camunda:inputOutput>
             </bpmn:extensionElements>
           </bpmn:userTask>""", "review")))
    assert "output parameter 'level'" in error.details["reason"]


# -- refused: XML attacks ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["xxe.bpmn", "billion_laughs.bpmn", "external_entity_net.bpmn"])
def test_a_document_type_declaration_is_refused_at_once(name):
    began = time.perf_counter()
    error = refusal(fixture(name))
    assert time.perf_counter() - began < 1.0
    assert "document type" in error.message
    assert error.details["resource"] == name


def test_a_doctype_hidden_after_a_long_comment_is_refused_too():
    resources = fixture("xxe.bpmn")
    content = resources["xxe.bpmn"]
    declaration = content.index(b"<!DOCTYPE")
    padded = content[:declaration] + b"<!--" + b" " * 70000 + b"-->\n" + content[declaration:]
    error = refusal({"xxe.bpmn": padded})
    assert "document type" in error.message


@pytest.mark.parametrize("name", [
    "xxe.bpmn",
    "billion_laughs.bpmn",
    "external_entity_net.bpmn",
])
def test_an_attack_in_utf16_is_refused_quickly_naming_the_file(name):
    text = (FIXTURES / name).read_text(encoding="utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"')
    began = time.perf_counter()
    error = refusal({name: text.encode("utf-16")})
    assert time.perf_counter() - began < 1.0
    assert (error.details or {}).get("resource") == name


# -- refused: structure ------------------------------------------------------------------------------

def test_a_flow_to_a_missing_element_is_refused_naming_flow_and_target():
    error = refusal(fixture("invalid_missing_target.bpmn"))
    assert error.details["element"] == "flow_broken"
    assert "ghost_task" in error.details["reason"]
    assert error.details["line"] == 12


def test_an_unsupported_form_field_type_is_refused():
    error = refusal(definitions(between_start_and_end(
        """<bpmn:userTask id="upload">
             <bpmn:extensionElements>
               <camunda:formData>
                 <camunda:formField id="attachment" label="附件" type="file"/>
               </camunda:formData>
             </bpmn:extensionElements>
           </bpmn:userTask>""", "upload")))
    assert error.details["element"] == "upload"
    assert "attachment" in error.details["reason"] and "'file'" in error.details["reason"]


def test_an_unsupported_form_constraint_is_refused():
    error = refusal(definitions(between_start_and_end(
        """<bpmn:userTask id="review">
             <bpmn:extensionElements>
               <camunda:formData>
                 <camunda:formField id="phone" type="string">
                   <camunda:validation><camunda:constraint name="pattern" config="[0-9]+"/></camunda:validation>
                 </camunda:formField>
               </camunda:formData>
             </bpmn:extensionElements>
           </bpmn:userTask>""", "review")))
    assert error.details["element"] == "review"
    assert "pattern" in error.details["reason"]


def test_an_enum_field_without_values_deploys_and_takes_no_value_as_in_camunda():
    [model] = parse_deployment(definitions(between_start_and_end(
        """<bpmn:userTask id="review">
             <bpmn:extensionElements>
               <camunda:formData><camunda:formField id="decision" type="enum"/></camunda:formData>
             </bpmn:extensionElements>
           </bpmn:userTask>""", "review")))
    [field] = model.user_tasks["review"].form_fields
    assert validate_submission([field], {}) == {}
    with pytest.raises(FormValidationFailed) as caught:
        validate_submission([field], {"decision": "approve"})
    assert caught.value.details["fields"][0]["message"] == "lists no values to choose from"


def test_a_form_field_validator_is_refused_as_code():
    error = refusal(definitions(between_start_and_end(
        """<bpmn:userTask id="review"><bpmn:extensionElements><camunda:formData>
             <camunda:formField id="phone" type="string"><camunda:validation>
               <camunda:constraint name="validator" config="org.example.PhoneValidator"/>
             </camunda:validation></camunda:formField>
           </camunda:formData></bpmn:extensionElements></bpmn:userTask>""", "review")))
    assert error.details["element"] == "review" and "Java code" in error.details["reason"]


def test_a_broken_candidate_group_expression_is_refused_naming_the_task():
    error = refusal(definitions(between_start_and_end(
        '<bpmn:userTask id="review" camunda:candidateGroups="${province-eco-env"/>', "review")))
    assert error.details["element"] == "review"
    assert "camunda:candidateGroups" in error.details["reason"]


def test_a_file_whose_root_is_not_bpmn_definitions_is_refused():
    error = refusal({"notes.xml": b'<?xml version="1.0"?><notes><note>not a process</note></notes>'})
    assert error.details["resource"] == "notes.xml"
    assert "neither a BPMN 2.0 nor a DMN file" in error.message


def test_xml_that_is_not_well_formed_is_refused():
    error = refusal({"broken.bpmn": b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">'})
    assert "not well-formed" in error.message


def test_a_file_without_an_executable_process_is_refused():
    error = refusal(definitions(between_start_and_end('<bpmn:userTask id="review"/>', "review"), executable="false"))
    assert "no executable process" in error.message


def test_a_process_key_defined_twice_in_a_deployment_is_refused():
    content = fixture("ten_step.bpmn")["ten_step.bpmn"]
    error = refusal({"ten_step.bpmn": content, "ten_step_copy.bpmn": content})
    assert error.details["element"] == "ten_step"
    assert "defined twice" in error.details["reason"]


def test_camundas_later_refusals_hold_a_file_being_deployed_not_one_deployed_before():
    # Deployed before the service refused it, a definition with two plain start events keeps its cases.
    resources = definitions('<bpmn:startEvent id="first"/><bpmn:startEvent id="second"/><bpmn:userTask id="u"/>'
                            '<bpmn:sequenceFlow id="f1" sourceRef="first" targetRef="u"/>'
                            '<bpmn:sequenceFlow id="f2" sourceRef="second" targetRef="u"/>')
    assert "multiple none start events" in refusal(resources).details["reason"]
    [model] = parse_deployment(resources, deploying=False)
    assert {start.id for start in model.start_events} == {"first", "second"}


@pytest.mark.parametrize("ttl, days", [("180", 180), ("P30D", 30), ("", None)])
def test_a_history_time_to_live_is_read_in_days_or_as_p_days_as_camunda_reads_it(ttl, days):
    resources = definitions(between_start_and_end('<bpmn:userTask id="u"/>', "u"))
    name, content = next(iter(resources.items()))
    content = content.replace(b'isExecutable="true"', f'isExecutable="true" camunda:historyTimeToLive="{ttl}"'.encode())
    [model] = parse_deployment({name: content})
    assert model.history_time_to_live == days


@pytest.mark.parametrize("ttl", ["PP555DDD", "invalidValue", "-5", "²", "9" * 5000])
def test_a_history_time_to_live_camunda_cannot_parse_is_refused(ttl):
    resources = definitions(between_start_and_end('<bpmn:userTask id="u"/>', "u"))
    name, content = next(iter(resources.items()))
    content = content.replace(b'isExecutable="true"', f'isExecutable="true" camunda:historyTimeToLive="{ttl}"'.encode())
    assert "Cannot parse historyTimeToLive" in refusal({name: content}).details["reason"]
