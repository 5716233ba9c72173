"""Stateful fuzzing: sequences of calls chained by the links schemathesis infers from
the spec (a created book's id fed to GET/PATCH/DELETE /books/{book_id}, and so on).

Every sequence starts from a clean, freshly seeded database, so Hypothesis can replay
and shrink it; the same checks as the per-operation fuzzing apply to every step.
"""

import pytest
import redis
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from api.extensions import db
from tests.fuzz.test_openapi_fuzz import CHECKS, schema
from tests.helpers import clean_database

STATEFUL_SETTINGS = settings(max_examples=30, stateful_step_count=8, deadline=None, derandomize=True,
                             database=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("role", ["member", "admin"])
def test_call_sequences_conform_to_the_spec(fuzz_app, fuzz_world, make_book, redis_url, role):
    class Workflow(schema.as_state_machine()):
        def setup(self):
            with fuzz_app.app_context():
                clean_database()
                db.session.remove()
            redis.Redis.from_url(redis_url).flushdb()
            fuzz_world.seed(make_book)

        def get_call_kwargs(self, case):
            return {"app": fuzz_app, "headers": fuzz_world.headers(role)}

        def validate_response(self, response, case, **kwargs):
            case.validate_response(response, checks=CHECKS, headers=kwargs.get("headers"))

    run_state_machine_as_test(Workflow, settings=STATEFUL_SETTINGS)
