"""What gunicorn refuses before the app sees it is answered with problem+json too
(SPEC "Protection": over-long URLs and headers get 414/431, never the server's HTML
page): api/gunicorn_worker.py, named by gunicorn.conf.py."""

import json
import socket
from urllib.parse import urlsplit

import pytest

from tests.ops.test_metrics_gunicorn import gunicorn  # noqa: F401  (the server fixture)


def raw(base: str, request: bytes) -> tuple[int, dict, bytes]:
    """Send bytes as they are (http.client would refuse to); (status, headers, body)."""
    url = urlsplit(base)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):  # the server closes the connection
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def get(path: str, *headers: str) -> bytes:
    return "\r\n".join([f"GET {path} HTTP/1.1", "Host: localhost", *headers, "", ""]).encode("latin-1")


@pytest.mark.parametrize(("request_bytes", "status"), [
    (get("/books?q=" + "a" * 5000), 414),
    (get("/books", "X-Long: " + "b" * 9000), 431),
    (get("/books", *(f"X-Many-{i}: 1" for i in range(120))), 431),
    (b"NOT HTTP AT ALL\r\n\r\n", 400),
], ids=["long-url", "long-header", "many-headers", "not-http"])
def test_refused_by_the_server_as_problem_json(gunicorn, request_bytes, status):  # noqa: F811
    base, _, _ = gunicorn
    got, headers, body = raw(base, request_bytes)
    assert got == status
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == status and problem["title"] and problem["detail"]
    assert int(headers["content-length"]) == len(body)


def test_a_request_within_the_limits_reaches_the_app(gunicorn):  # noqa: F811
    base, _, _ = gunicorn
    status, headers, _ = raw(base, get("/calendar", "Connection: close"))
    assert status == 200 and headers["content-type"] == "application/json"
