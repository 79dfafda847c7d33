"""A property-based fuzz of the service's own OpenAPI schema (schemathesis): generated requests to
every operation, signed in as an administrator, never get a server error (5xx), nor an answer that
shows Python (an exception name, a type, a repr). Bounded examples per operation keep it to seconds;
a failure names the request that got the error."""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.support.plain import python_shown
from tests.support.service import ADMIN_AUTH

EXAMPLES_PER_OPERATION = 8


def test_no_generated_request_gets_a_server_error(service):
    schema = schemathesis.openapi.from_url(f"{service.base_url}/openapi.json")
    server_errors: list[str] = []
    operations = sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def send(case) -> None:
            nonlocal sent
            sent += 1
            response = case.call(auth=ADMIN_AUTH, timeout=30)
            if response.status_code >= 500 or python_shown(response.text):
                server_errors.append(f"{case.method} {case.formatted_path} {case.query or ''} {case.body!r:.200}"
                                     f" -> {response.status_code} {response.text[:200]}")

        send()
    assert operations > 100 and sent > 3 * operations
    assert not server_errors, "\n".join(server_errors)
