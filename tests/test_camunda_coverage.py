"""bench/camunda_coverage.py: Camunda's operations read from its templates, matched against the
service's routes whatever their path parameters are called."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

_SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "camunda_coverage.py"
_spec = importlib.util.spec_from_file_location("camunda_coverage", _SCRIPT)
assert _spec is not None and _spec.loader is not None
coverage_script = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = coverage_script  # its dataclasses look their module up
_spec.loader.exec_module(coverage_script)


def _template(operation_id: str, tag: str) -> str:
    # As Camunda writes them (engine-rest-openapi/src/main/templates/paths/...).
    return ('<#macro endpoint_macro docsUrl="">\n  {\n    <@lib.endpointInfo\n'
            f'        id = "{operation_id}"\n        tag = "{tag}"\n        summary = "Get"\n'
            '        desc = "Gets one; see the [Introduction](${docsUrl}/reference/rest/overview/)." />\n'
            '  "parameters" : [],\n  "responses" : {}\n  }\n</#macro>\n')


def _write(root: Path, relative: str, text: str) -> None:
    file = root / relative
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def routes() -> set[tuple[str, str]]:
    return coverage_script.service_routes()


def test_an_operation_matches_the_route_whatever_its_parameters_are_called(tmp_path, routes):
    _write(tmp_path, "task/{id}/comment/{commentId}/get.ftl", _template("getComment", "Task Comment"))
    _write(tmp_path, "task/{id}/comment/{commentId}/options.ftl", _template("commentOptions", "Task Comment"))
    _write(tmp_path, "no-such-resource/{id}/get.ftl", _template("getNothing", "Nothing"))

    operations = coverage_script.camunda_operations(tmp_path)
    result = coverage_script.coverage(operations, routes)

    # OPTIONS describes hypermedia, not an operation.
    assert sorted((o.method, o.path, o.operation_id, o.tag) for o in operations) == [
        ("GET", "/no-such-resource/{id}", "getNothing", "Nothing"),
        ("GET", "/task/{id}/comment/{commentId}", "getComment", "Task Comment")]
    # The service's route is /engine-rest/task/{task_id}/comment/{comment_id}.
    assert [o.operation_id for o in result.covered] == ["getComment"]
    assert ("GET", "/task/{}/comment/{}") in routes
    assert "GET /no-such-resource/{id} (getNothing)" in coverage_script.as_text(result)


def test_the_method_counts_and_a_trailing_slash_does_not(routes):
    assert coverage_script.normalise("/task/{taskId}/comment/") == "/task/{}/comment"
    deletion = coverage_script.Operation("DELETE", "/task/{id}/identity-links", "x", "Task")
    listing = coverage_script.Operation("GET", "/task/{id}/identity-links/", "y", "Task")
    result = coverage_script.coverage([deletion, listing], routes)
    assert result.covered == {listing}


def test_a_git_directory_is_read_at_a_commit(tmp_path, routes):
    checkout = tmp_path / "camunda"
    _write(checkout, f"{coverage_script.TEMPLATES}/task/{{id}}/get.ftl", _template("getTask", "Task"))
    _write(checkout, f"{coverage_script.TEMPLATES}/task/{{id}}/localVariables/get.ftl",
           _template("getTaskLocalVariables", "Task Local Variable"))

    def git(*arguments: str) -> None:
        subprocess.run(["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@example.org",
                        *arguments], check=True, capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "templates")

    from_git = coverage_script.camunda_operations(checkout / ".git", "HEAD")
    from_checkout = coverage_script.camunda_operations(checkout)
    assert sorted(from_git, key=str) == sorted(from_checkout, key=str)
    assert {o.operation_id for o in from_git} == {"getTask", "getTaskLocalVariables"}
