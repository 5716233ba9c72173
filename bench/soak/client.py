"""Stdlib HTTP for the load driver, and a recorder that judges every response.

http.client rather than requests: nothing to install, and HTTPConnection reopens
by itself after gunicorn's sync workers close the connection.
"""

import http.client
import json
import threading
import time
from collections import Counter, defaultdict

# What each operation may answer under load. Anything else is a finding: a 404 on
# one's own loan, a 401 with a fresh token, a 400 on a well-formed body.
ALLOWED = {
    "users.register": {201, 429}, "users.login": {200, 401, 429}, "users.me": {200, 429},
    "users.password_reset": {202, 429}, "books.create": {201}, "books.list": {200, 429},
    "books.get": {200, 429}, "books.update": {200},
    "loans.create": {201, 409, 429}, "loans.list": {200, 429},
    "loans.return": {200, 409, 429}, "loans.renew": {200, 409, 429},
    "holds.create": {201, 409, 429}, "holds.list": {200, 429}, "holds.cancel": {204, 409, 429},
}
KEEP_EXAMPLES = 5


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.statuses: dict[str, Counter] = defaultdict(Counter)
        self.violations: Counter = Counter()
        self.examples: list[str] = []
        # (who, op) -> [(sent, done, status)], for the default-limit window check.
        self.timeline: dict[tuple, list] = defaultdict(list)

    def add(self, who, op, method, path, sent, done, status, headers, body) -> None:
        problems = judge(op, status, headers, body)
        with self.lock:
            self.statuses[op][str(status)] += 1
            self.timeline[(who, op)].append((sent, done, status))
            for kind in problems:
                self.violations[kind] += 1
                if sum(e.startswith(kind) for e in self.examples) < KEEP_EXAMPLES:
                    self.examples.append(f"{kind}: {method} {path} -> {status} {body[:200]!r}")

    def error(self, op, method, path, exc) -> None:
        with self.lock:
            self.statuses[op]["transport-error"] += 1
            self.violations["transport error"] += 1
            if len(self.examples) < 40:
                self.examples.append(f"transport error: {method} {path}: {exc!r}")


def judge(op: str, status: int, headers: dict, body: bytes) -> list[str]:
    problems = []
    if status >= 500:
        problems.append("5xx")
    if status not in ALLOWED.get(op, {status}):
        problems.append(f"unexpected {status} on {op}")
    if status >= 400:
        ctype = headers.get("content-type", "")
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if not ctype.startswith("application/problem+json") or not isinstance(doc, dict) \
                or doc.get("status") != status or not {"type", "title"} <= doc.keys():
            problems.append("4xx/5xx not problem+json")
    if status == 429 and not headers.get("retry-after", "").isdigit():
        problems.append("429 without Retry-After")
    return problems


class Api:
    """One client (a member, the admin, the attacker) on its own connection."""

    def __init__(self, host: str, port: int, recorder: Recorder, who: str):
        self.conn = http.client.HTTPConnection(host, port, timeout=30)
        self.recorder, self.who, self.token = recorder, who, None

    def call(self, op: str, method: str, path: str, body=None):
        """(status, headers, parsed JSON or None); status None on a transport error."""
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        sent = time.monotonic()
        try:
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as e:
            self.conn.close()
            self.recorder.error(op, method, path, e)
            return None, {}, None
        done = time.monotonic()
        got = {k.lower(): v for k, v in resp.getheaders()}
        if got.get("connection", "").lower() == "close":
            self.conn.close()
        who = self.who if self.token else "anonymous"  # the limiter keys the same way
        self.recorder.add(who, op, method, path, sent, done, resp.status, got, raw)
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = None
        return resp.status, got, doc

    def close(self) -> None:
        self.conn.close()


def window_check(recorder: Recorder, amount: int, seconds: float) -> dict:
    """Per (client, route): requests *answered* within `seconds` of that client's first
    request on the route were all counted in the server's first fixed window (which
    opened no earlier than that first request was sent), so at most `amount` of
    them may have passed."""
    worst, breaches = 0, []
    for (who, op), hits in recorder.timeline.items():
        start = min(sent for sent, _, _ in hits)
        passed = sum(1 for _, done, status in hits
                     if done < start + seconds and status != 429)
        worst = max(worst, passed)
        if passed > amount:
            breaches.append(f"{who} {op}: {passed} passed > {amount}")
    return {"ok": not breaches, "max_passed_in_first_window": worst, "breaches": breaches[:5]}
