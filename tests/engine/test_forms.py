"""Form submissions checked against the fields Camunda Modeler declares: each type, each constraint,
every failure reported at once, values handed back converted."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from app.engine import FormField, parse_deployment, validate_submission
from app.errors import FormValidationFailed, InvalidRequest

FIXTURES = Path(__file__).parent.parent / "fixtures" / "bpmn"
BEIJING = timezone(timedelta(hours=8))


def failures_of(fields, submitted, **kwargs) -> list[dict]:
    with pytest.raises(FormValidationFailed) as caught:
        validate_submission(fields, submitted, **kwargs)
    return caught.value.details["fields"]


def only_failure(field: FormField, value) -> str:
    failures = failures_of([field], {field.id: value})
    assert [failure["field"] for failure in failures] == [field.id]
    return failures[0]["message"]


# -- string ------------------------------------------------------------------------------------------

OPINION = FormField("opinion", "审查意见", "string", minlength=2, maxlength=5)


def test_a_text_within_its_length_bounds_is_accepted_as_it_is():
    assert validate_submission([OPINION], {"opinion": "同意建设"}) == {"opinion": "同意建设"}


def test_length_bounds_are_inclusive_and_count_characters_not_bytes():
    assert validate_submission([OPINION], {"opinion": "同意"})["opinion"] == "同意"
    assert validate_submission([OPINION], {"opinion": "一二三四五"})["opinion"] == "一二三四五"


def test_a_text_shorter_than_minlength_is_refused():
    assert only_failure(OPINION, "好") == "must have at least 2 characters"


def test_a_text_longer_than_maxlength_is_refused():
    assert only_failure(OPINION, "一二三四五六") == "must have at most 5 characters"


def test_a_number_in_a_text_field_is_refused():
    assert only_failure(OPINION, 12345) == "must be a text"


# -- long --------------------------------------------------------------------------------------------

SCORE = FormField("score", "评分", "long", min=0, max=100)


@pytest.mark.parametrize("submitted, kept", [(0, 0), (100, 100), (42, 42), ("42", 42), (" 7 ", 7), (60.0, 60)])
def test_a_whole_number_within_bounds_is_kept_as_an_integer(submitted, kept):
    value = validate_submission([SCORE], {"score": submitted})["score"]
    assert value == kept and type(value) is int


def test_a_number_below_min_is_refused():
    assert only_failure(SCORE, -1) == "must be at least 0"
    assert only_failure(SCORE, "-5") == "must be at least 0"


def test_a_number_above_max_is_refused():
    assert only_failure(SCORE, 101) == "must be at most 100"
    assert only_failure(SCORE, "1000") == "must be at most 100"


def test_a_negative_number_is_accepted_when_no_min_is_declared():
    assert validate_submission([FormField("delta", None, "long")], {"delta": "-12"}) == {"delta": -12}


@pytest.mark.parametrize("submitted", ["abc", "4.5", 4.5, "1e3", True, False, [1], "-"])
def test_what_is_not_a_whole_number_is_refused(submitted):
    assert only_failure(SCORE, submitted) == "must be a whole number"


@pytest.mark.parametrize("submitted", ["²", "--5"])
def test_digit_like_text_that_is_no_number_is_a_field_failure_not_a_crash(submitted):
    assert only_failure(SCORE, submitted) == "must be a whole number"


# -- boolean -----------------------------------------------------------------------------------------

APPROVED = FormField("approved", "是否批准", "boolean")


@pytest.mark.parametrize("submitted, kept", [(True, True), (False, False), ("true", True), ("false", False),
                                             ("TRUE", True), ("False", False)])
def test_booleans_and_their_text_forms_are_kept_as_booleans(submitted, kept):
    assert validate_submission([APPROVED], {"approved": submitted})["approved"] is kept


@pytest.mark.parametrize("submitted", ["yes", "1", 1, 0, "同意"])
def test_anything_else_in_a_boolean_field_is_refused(submitted):
    assert only_failure(APPROVED, submitted) == "must be true or false"


# -- date --------------------------------------------------------------------------------------------

DEADLINE = FormField("deadline", "截止日期", "date")


@pytest.mark.parametrize("submitted", ["2026-10-01T09:00:00+08:00", "2026-10-01T09:00:00+0800",
                                       "2026-10-01T01:00:00Z", "2026-10-01T01:00:00.000+00:00"])
def test_iso_dates_with_an_offset_are_read_as_that_instant(submitted):
    value = validate_submission([DEADLINE], {"deadline": submitted})["deadline"]
    assert value == datetime(2026, 10, 1, 1, 0, tzinfo=UTC)
    assert value.tzinfo is not None


def test_camunda_form_dates_dd_mm_yyyy_are_read_as_midnight_in_the_given_zone():
    value = validate_submission([DEADLINE], {"deadline": "01/10/2026"}, zone=BEIJING)["deadline"]
    assert value == datetime(2026, 10, 1, 0, 0, tzinfo=BEIJING)


def test_camunda_form_dates_are_day_first():
    value = validate_submission([DEADLINE], {"deadline": "13/02/2026"})["deadline"]
    assert (value.year, value.month, value.day) == (2026, 2, 13)


def test_a_date_without_offset_is_read_in_the_given_zone():
    value = validate_submission([DEADLINE], {"deadline": "2026-10-01T09:00:00"}, zone=BEIJING)["deadline"]
    assert value == datetime(2026, 10, 1, 1, 0, tzinfo=UTC)


def test_date_and_datetime_objects_are_accepted():
    assert validate_submission([DEADLINE], {"deadline": date(2026, 10, 1)}, zone=BEIJING)["deadline"] == \
        datetime(2026, 10, 1, tzinfo=BEIJING)
    instant = datetime(2026, 10, 1, 9, tzinfo=BEIJING)
    assert validate_submission([DEADLINE], {"deadline": instant})["deadline"] == instant


@pytest.mark.parametrize("submitted", ["tomorrow", "2026-13-01", "32/01/2026", "10/2026", 20261001])
def test_what_is_not_a_date_is_refused(submitted):
    assert only_failure(DEADLINE, submitted) == "must be a date"


# -- enum --------------------------------------------------------------------------------------------

DECISION = FormField("decision", "审查结论", "enum",
                     enum_values=(("approve", "同意"), ("reject", "不同意"), ("supplement", "补正")))


@pytest.mark.parametrize("submitted", ["approve", "reject", "supplement"])
def test_each_declared_enum_value_is_accepted(submitted):
    assert validate_submission([DECISION], {"decision": submitted}) == {"decision": submitted}


@pytest.mark.parametrize("submitted", ["同意", "APPROVE", "approved", 1])
def test_enum_names_and_unknown_values_are_refused_listing_the_allowed_ids(submitted):
    assert only_failure(DECISION, submitted) == "must be one of: approve, reject, supplement"


# -- required, readonly ------------------------------------------------------------------------------

PARK = FormField("park_name", "园区名称", "string", required=True)


@pytest.mark.parametrize("submitted", [{}, {"park_name": None}, {"park_name": ""}, {"park_name": "   "},
                                       {"park_name": "\t\n"}])
def test_a_required_field_missing_or_blank_is_refused(submitted):
    failures = failures_of([PARK], submitted)
    assert failures == [{"field": "park_name", "label": "园区名称", "message": "is required"}]


def test_an_optional_field_may_be_left_out():
    assert validate_submission([SCORE, OPINION], {}) == {}


def test_a_blank_optional_number_does_not_reach_the_process_as_text():
    values = validate_submission([SCORE], {"score": "  "})
    assert values.get("score") is None


def test_a_submitted_readonly_field_is_refused():
    reference = FormField("reference", "受理编号", "string", readonly=True)
    assert only_failure(reference, "GD-2026-001") == "is read-only"
    assert validate_submission([reference], {}) == {}


# -- the whole form ----------------------------------------------------------------------------------

def test_every_failure_of_a_form_is_reported_at_once_in_field_order():
    fields = [PARK, DECISION, OPINION, SCORE, FormField("note", None, "string", required=True)]
    with pytest.raises(FormValidationFailed) as caught:
        validate_submission(fields, {"park_name": " ", "decision": "maybe", "opinion": "ok", "score": 200})
    error = caught.value
    assert [(f["field"], f["message"]) for f in error.details["fields"]] == [
        ("park_name", "is required"),
        ("decision", "must be one of: approve, reject, supplement"),
        ("score", "must be at most 100"),
        ("note", "is required"),
    ]
    # A field without a label is named by its id.
    assert error.details["fields"][-1]["label"] == "note"
    for field_id in ("park_name", "decision", "score", "note"):
        assert field_id in error.message
    assert isinstance(error, InvalidRequest)


def test_converted_values_are_returned_with_the_other_submitted_variables():
    fields = [SCORE, APPROVED, DEADLINE, DECISION]
    values = validate_submission(fields, {"score": "85", "approved": "true", "deadline": "2026-10-01T09:00:00+08:00",
                                          "decision": "approve", "attachment_count": 3})
    assert values == {"score": 85, "approved": True, "deadline": datetime(2026, 10, 1, 1, tzinfo=UTC),
                      "decision": "approve", "attachment_count": 3}


def test_the_submission_is_not_modified_in_place():
    submitted = {"score": "85"}
    validate_submission([SCORE], submitted)
    assert submitted == {"score": "85"}


def test_the_eco_review_forms_as_parsed_are_enforced():
    model, = parse_deployment({"eco_review.bpmn": (FIXTURES / "eco_review.bpmn").read_bytes()})
    review_form = model.user_tasks["provincial_review"].form_fields
    assert validate_submission(review_form, {"decision": "approve", "opinion": "符合要求", "score": "90"}) == \
        {"decision": "approve", "opinion": "符合要求", "score": 90}
    failures = failures_of(review_form, {"decision": "approve", "opinion": "长" * 501, "score": "-1"})
    assert [(f["field"], f["label"], f["message"]) for f in failures] == [
        ("opinion", "审查意见", "must have at most 500 characters"),
        ("score", "评分", "must be at least 0"),
    ]
    start_failures = failures_of(model.start_form, {"park_name": "南岭生态园"})
    assert start_failures == [{"field": "province", "label": "所在省份", "message": "is required"}]
