"""Every error is RFC 9457 problem+json, never HTML and never a stack trace."""

import pytest

from api import create_app
from tests.helpers import is_problem


def test_unknown_url_is_problem_json(client):
    response = client.get("/no/such/thing")
    assert is_problem(response, 404)


def test_wrong_method_is_problem_json_with_allow(client):
    response = client.delete("/health")
    assert is_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_body_over_max_content_length_is_413(app, client):
    body = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/users/register", data=body, content_type="application/json")
    assert is_problem(response, 413)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_non_json_body_is_415(client, content_type):
    response = client.post("/users/register", data="username=x", content_type=content_type)
    assert is_problem(response, 415)


@pytest.mark.parametrize("body", ["{", "[1, 2", "nul", '{"a": }', "\udcff"])
def test_malformed_json_is_400(client, body):
    response = client.post("/users/register", data=body.encode("utf-8", "surrogatepass"),
                           content_type="application/json")
    assert is_problem(response, 400)


@pytest.mark.parametrize("body", ["[]", "42", '"text"', "null"])
def test_json_that_is_not_an_object_is_400(client, body):
    response = client.post("/users/register", data=body, content_type="application/json")
    assert is_problem(response, 400)


def test_unexpected_exception_is_generic_500_without_trace(redis_url, database_url):
    # Testing mode re-raises errors for debugging; this test wants production behaviour.
    app = create_app("testing", REDIS_URL=redis_url, SQLALCHEMY_DATABASE_URI=database_url,
                     PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert is_problem(response, 500)
    text = response.get_data(as_text=True)
    assert "secret internals" not in text and "Traceback" not in text
