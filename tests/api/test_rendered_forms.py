"""Generated forms rendered as Camunda's HtmlFormEngine renders them (GET /task/{id}/rendered-form,
/process-definition/{id}/rendered-form and the key variants), with every text of the diagram escaped;
and the deployed forms, which deployments here never hold (GET /task/{id}/deployed-form,
/process-definition/{id}/deployed-start-form and the key variants)."""
from __future__ import annotations

from lxml import etree

from tests.support.bpmn_text import process
from tests.support.http import deploy, deploy_bytes
from tests.support.paths import FIXTURES

FORMS = FIXTURES / "rest" / "rendered_forms.bpmn"
NO_FORM = FIXTURES / "rest" / "definition_deletion.bpmn"
HOSTILE_LABEL = '申请单位 <script>alert(1)</script> & "引号"'
HOSTILE_DEFAULT = '"><img src=x onerror=alert(1)>'


def parsed(response) -> etree._Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/xhtml+xml"
    form = etree.fromstring(response.content)  # well-formed: nothing of the diagram broke out of its place
    assert (form.tag, form.get("name"), form.get("role")) == ("form", "generatedForm", "form")
    return form


def control(form: etree._Element, name: str) -> etree._Element:
    [found] = form.xpath("//*[@name=$name][@cam-variable-name=$name]", name=name)
    return found


def test_the_start_form_is_rendered_field_by_field_with_its_constraints(client):
    definition = next(iter(deploy(client, FORMS)["deployedProcessDefinitions"].values()))
    form = parsed(client.get(f"/process-definition/{definition['id']}/rendered-form"))
    assert [group.xpath("string(label)").strip() for group in form.findall("div")] == [
        HOSTILE_LABEL, "面积（公顷）", "加急", "期限", "类别"]
    applicant = control(form, "applicant")
    assert (applicant.tag, applicant.get("type"), applicant.get("cam-variable-type")) == ("input", "text", "String")
    assert (applicant.get("required"), applicant.get("minlength"), applicant.get("value")) == (
        "required", "2", HOSTILE_DEFAULT)
    area = control(form, "area")
    assert (area.get("cam-variable-type"), area.get("min")) == ("Long", "1")
    urgent = control(form, "urgent")
    assert (urgent.get("type"), urgent.get("cam-variable-type"), urgent.get("value")) == ("checkbox", "Boolean",
                                                                                        "false")
    deadline = control(form, "deadline")
    assert (deadline.get("cam-variable-type"), deadline.get("uib-datepicker-popup")) == ("String", "dd/MM/yyyy")
    [script] = form.findall(".//script")
    assert script.get("type") == "text/form-script" and "$scope.opendeadline" in script.text
    category = control(form, "category")
    assert category.tag == "select" and category.get("cam-variable-type") == "String"
    assert [(option.get("value"), option.text.strip()) for option in category] == [
        ("major", "重点管理 <b>"), ("simple", "简化管理")]
    messages = [text.strip() for text in form.xpath("//div[@class='help-block']/text()")]
    assert "Only a long value is allowed" in messages and "Required field" in messages
    assert "Invalid date format: the date should have the pattern 'dd/MM/yyyy'" in messages
    # No markup of the diagram's texts: the only elements are the form's own.
    assert not form.xpath("//img | //b | //script[not(@type='text/form-script')]")
    assert b"<script>alert" not in client.get(f"/process-definition/{definition['id']}/rendered-form").content
    by_key = client.get("/process-definition/key/rendered_forms/rendered-form")
    assert by_key.content == client.get(f"/process-definition/{definition['id']}/rendered-form").content


def test_the_key_and_tenant_variants_and_a_start_without_a_generated_form(client):
    response = client.post("/deployment/create", data={"tenant-id": "xj-urumqi"},
                           files=[("data", ("rendered_forms.bpmn", FORMS.read_bytes(), "application/xml"))])
    assert response.status_code == 200, response.text
    parsed(client.get("/process-definition/key/rendered_forms/tenant-id/xj-urumqi/rendered-form"))
    assert client.get("/process-definition/key/rendered_forms/rendered-form").status_code == 404
    plain = next(iter(deploy(client, NO_FORM)["deployedProcessDefinitions"].values()))
    missing = client.get("/process-definition/key/permit_notice/rendered-form")
    assert (missing.status_code, missing.json()["type"], missing.json()["message"]) == (
        404, "InvalidRequestException",
        f"No matching rendered start form for process definition with the id {plain['id']} found.")
    assert client.get("/process-definition/no-such-definition/rendered-form").status_code == 404


def open_task(client, instance: str) -> dict:
    [task] = client.get("/task", params={"processInstanceId": instance}).json()
    return task


def test_a_tasks_form_is_rendered_and_a_task_without_one_answers_404(client, service):
    deploy(client, FORMS)
    instance = client.post("/process-definition/key/rendered_forms/submit-form", json={"variables": {
        "applicant": {"value": "某化工园区"}, "deadline": {"value": "2026-12-31T00:00:00.000+0800"}}}).json()["id"]
    review = open_task(client, instance)
    form = parsed(client.get(f"/task/{review['id']}/rendered-form"))
    reviewed_on = control(form, "reviewed_on")
    # A read-only date is disabled and has no date picker.
    assert reviewed_on.get("disabled") == "disabled" and reviewed_on.get("uib-datepicker-popup") is None
    assert not form.findall(".//script") and control(form, "opinion").get("type") == "text"
    from app.access import accounts

    accounts.save_account(service.services, "outsider", "outsider-password", ["other-region"])
    assert client.get(f"/task/{review['id']}/rendered-form", auth=("outsider", "outsider-password")
                      ).status_code == 403
    assert client.get("/task/no-such-task/rendered-form").status_code == 404
    assert client.post(f"/task/{review['id']}/complete", json={}).status_code == 204
    check = open_task(client, instance)
    missing = client.get(f"/task/{check['id']}/rendered-form")
    assert (missing.status_code, missing.json()["type"], missing.json()["message"]) == (
        404, "InvalidRequestException", f"No matching rendered form for task with the id {check['id']} found.")


def test_deployed_forms_answer_as_camunda_answers_a_form_key_naming_no_deployed_form(client):
    definition = next(iter(deploy(client, FORMS)["deployedProcessDefinitions"].values()))
    instance = client.post("/process-definition/key/rendered_forms/submit-form", json={"variables": {
        "applicant": {"value": "某化工园区"}, "deadline": {"value": "2026-12-31T00:00:00.000+0800"}}}).json()["id"]
    refusals = []
    for _ in range(3):  # review (no form key), check_files (embedded:deployment:), sign (embedded:app:)
        task = open_task(client, instance)
        answer = client.get(f"/task/{task['id']}/deployed-form")
        refusals.append((answer.status_code, answer.json()["type"], answer.json()["message"]))
        assert client.post(f"/task/{task['id']}/complete", json={}).status_code == 204
    assert refusals == [
        (400, "InvalidRequestException",
         "One of the attributes 'formKey' and 'camunda:formRef' must be supplied but none were set."),
        (404, "InvalidRequestException", "The form with the resource name 'forms/check.html' cannot be found in "
                                         f"deployment with id {definition['deploymentId']}"),
        (400, "InvalidRequestException", "The form key 'embedded:app:forms/sign.html' does not reference a "
                                         "deployed form.")]
    assert client.get("/task/no-such-task/deployed-form").status_code == 404
    for path in (f"{definition['id']}/deployed-start-form", "key/rendered_forms/deployed-start-form"):
        start = client.get(f"/process-definition/{path}")
        assert (start.status_code, start.json()["message"]) == (400, refusals[0][2])
    assert client.get("/process-definition/key/rendered_forms/tenant-id/other/deployed-start-form"
                      ).status_code == 404


def test_braces_of_the_diagram_are_never_compiled_by_tasklists_angularjs(client):
    """Tasklist compiles a generated form with AngularJS: a designer's `{{...}}` in a label, an
    option or a default value must stay text, so each of those elements is ng-non-bindable."""
    braces = "{{constructor.constructor('alert(1)')()}}"
    fields = (f'<camunda:formField id="a" label="{braces}" type="string" defaultValue="{braces}"/>'
              f'<camunda:formField id="b" label="plain" type="enum"><camunda:value id="v" name="{braces}"/>'
              '</camunda:formField><camunda:formField id="c" type="string"/>')
    body = process("braced", f'<bpmn:startEvent id="s"><bpmn:extensionElements><camunda:formData>{fields}'
                             '</camunda:formData></bpmn:extensionElements></bpmn:startEvent>'
                             '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="t"/><bpmn:userTask id="t"/>')
    assert deploy_bytes(client, "braced.bpmn", body).status_code == 200
    form = parsed(client.get("/process-definition/key/braced/rendered-form"))
    holding = form.xpath("//*[contains(text(), '{{') or @*[contains(., '{{')]]")
    assert {element.tag for element in holding} == {"label", "input", "option"}
    assert all(element.get("ng-non-bindable") == "" for element in holding)
    # Where the diagram put no text, nothing needs it.
    assert control(form, "c").get("ng-non-bindable") is None

