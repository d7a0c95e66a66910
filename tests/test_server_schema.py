"""Property-based testing of every route against the API's own OpenAPI schema (schemathesis): random
valid and invalid inputs never give a 500, and every answer matches the schema (status, content type,
body)."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mirror_kit.server import create_app
from tests.plugins.server import bearer


def test_no_route_gives_500_and_every_answer_matches_the_schema(served_ro):
    app = create_app(served_ro.path, rate_limit=None)
    headers = bearer(served_ro.tokens["owner_write"])
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    tested = []
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path.endswith("/events"):
            continue  # an event stream: answered by the run tests, not a JSON body to generate against

        @given(case=op.as_strategy())
        @settings(max_examples=6, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case) -> None:
            case.call_and_validate(headers=headers, checks=checks)

        check()
        tested.append(f"{op.method.upper()} {op.path}")
    assert len(tested) >= 16, tested
