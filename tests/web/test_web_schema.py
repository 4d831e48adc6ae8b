"""schemathesis (version 4, `schemathesis.openapi.from_asgi`) over the whole OpenAPI
schema: no 500, and no response that breaks its own schema (status code, content type,
body), as an agency, as an officer and as nobody. Each operation's cases are drawn by
Hypothesis from the operation's strategy (schemathesis's pytest plugin is not used: it
does not load under this pytest)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from web_helpers import AGENCY, Service

from ftigate.web.auth import SESSION_COOKIE

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_api_keeps_to_its_schema(service: Service) -> None:
    officer = service.sign_in("officer-a")
    principals = [
        {"Authorization": f"Bearer {service.tokens[AGENCY]}"},
        {
            "Cookie": f"{SESSION_COOKIE}={officer.cookies[SESSION_COOKIE]}",
            "X-CSRF-Token": service.csrf(officer),
        },
        {},
    ]
    schema = schemathesis.openapi.from_asgi("/openapi.json", service.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    @given(case=st.one_of(*[op.as_strategy() for op in operations]))
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def keeps_to_schema(case: schemathesis.Case) -> None:
        for headers in principals:
            case.call_and_validate(headers=headers, checks=CHECKS)

    keeps_to_schema()
