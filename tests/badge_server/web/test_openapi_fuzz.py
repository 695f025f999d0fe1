"""schemathesis against the server's own OpenAPI schema over real HTTP: whatever a client sends,
the answer is never a server error (500s are bugs), and every answer is what the schema says:
a documented status, content type and body (issue 15: the schema promised 422 ``{"detail"}``
where the server answers 400 ``{"error"}``)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.district import District
from tests.support.servers import LoopbackServer


@pytest.fixture
def database_url(sqlite_database_url: str) -> str:
    return sqlite_database_url


SCHEMA_CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]


def test_no_request_makes_the_server_fail(server: LoopbackServer, district: District) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    # As an enrolled device: requests get past authentication into the code that parses them.
    headers = {"Authorization": f"Bearer {district.device_token}"}
    failures: list[str] = []
    calls: list[int] = []
    # An Err (a schema error) has no ok(): the test fails on it, as it should.
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    paths = {operation.path for operation in operations}
    assert "/api/v1/exchange" in paths and not any(p.startswith(("/staff", "/scan")) for p in paths), paths
    assert len(operations) >= 14

    for operation in operations:

        @settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(operation.as_strategy())
        def call(case: schemathesis.Case[Any]) -> None:
            response = case.call(base_url=server.url, headers=headers, timeout=30)
            calls.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}")
            try:
                case.validate_response(response, checks=SCHEMA_CHECKS)
            except Exception as exc:  # schemathesis' FailureGroup: name it and go on to the rest
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {exc}"[:400])

        call()
    assert failures == []
    assert len(calls) > 2 * len(operations) and len(set(calls)) > 3, "the fuzzer really called the server"
