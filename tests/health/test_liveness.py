"""GET /health is answered ahead of Flask (api/health/probe.py), identically to the view."""

import pytest

from api.health.probe import LivenessProbe


def _flask_only(app):
    probe = app.wsgi_app
    assert isinstance(probe, LivenessProbe)
    return probe.wsgi_app


@pytest.mark.parametrize("method, base_url", [("GET", "http://localhost"),
                                              ("GET", "https://localhost"),
                                              ("HEAD", "http://localhost")])
def test_probe_answers_as_the_flask_view_does(app, method, base_url):
    headers = {"X-Request-ID": "probe-1"}  # kept by both, so the answers can be compared
    fast = app.test_client().open("/health", method=method, base_url=base_url, headers=headers)
    saved, app.wsgi_app = app.wsgi_app, _flask_only(app)
    try:
        slow = app.test_client().open("/health", method=method, base_url=base_url, headers=headers)
    finally:
        app.wsgi_app = saved
    assert fast.status_code == slow.status_code == 200
    assert fast.get_data() == slow.get_data()
    assert sorted(fast.headers.items()) == sorted(slow.headers.items())
    assert fast.headers["X-Request-ID"] == "probe-1"


def test_probe_makes_a_request_id_when_none_is_valid(client):
    made = client.get("/health", headers={"X-Request-ID": "bad id!"}).headers["X-Request-ID"]
    assert made != "bad id!" and len(made) == 32


def test_other_methods_and_paths_reach_flask(client):
    assert client.post("/health").status_code == 405
    assert client.get("/health/").status_code == 404
