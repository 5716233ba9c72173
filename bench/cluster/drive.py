"""The bounded load through both API hosts, the worker kill, and what is checked after.

Every member registers on one API host and does the rest on the other one (log in,
borrow, list, return): a token, a loan or a cache entry kept on one host would show.
While the welcome emails go out the mail worker is SIGKILLed and started again.
"""

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import psycopg
from prometheus_client.parser import text_string_to_metric_families

from bench.cluster import net
from bench.cluster.stack import ADMIN, API_PORT, PG_ADMIN
from bench.soak.client import Api, Recorder
from bench.soak.drive import isbn13
from worker.mail import BROKE_IN_DATA, OUTCOME_UNKNOWN
from worker.smtp import message_id

APIS = ("api1", "api2")
JOB_NAMES = ("overdue-check", "due-soon-reminders", "expire-holds")
SENDER = "Library <library@cluster.example.com>"


class Load:
    def __init__(self, cluster, members: int, jobs: int, threads: int = 6):
        self.cluster, self.members, self.jobs, self.threads = cluster, members, jobs, threads
        self.recorder = Recorder()
        self.sent: Counter = Counter()
        self.lock = threading.Lock()
        self.books: list[int] = []
        self.figures: dict = {}

    def api(self, which: str, who: str) -> Api:
        load = self

        class Counted(Api):
            def call(self, *args, **kwargs):
                with load.lock:
                    load.sent[which] += 1
                return super().call(*args, **kwargs)

        return Counted(net.NODES[which], API_PORT, self.recorder, who)

    def login(self, api: Api, email: str, password: str) -> None:
        status, _, doc = api.call("users.login", "POST", "/users/login",
                                  {"email": email, "password": password})
        assert status == 200, (status, doc)
        api.token = doc["access_token"]

    def member(self, i: int) -> None:
        home, away = APIS[i % 2], APIS[(i + 1) % 2]
        email, password = f"m{i}@cluster.example.com", f"member password {i}"
        first = self.api(home, f"m{i}")
        status, _, _ = first.call("users.register", "POST", "/users/register",
                                  {"username": f"member{i}", "email": email, "password": password})
        assert status == 201, status
        other = self.api(away, f"m{i}")
        self.login(other, email, password)
        first.token = other.token  # a token from one host works on the other
        book = self.books[i % len(self.books)]
        status, _, loan = first.call("loans.create", "POST", "/loans", {"book_id": book})
        if status == 201:
            other.call("loans.list", "GET", "/loans")
            other.call("loans.return", "POST", f"/loans/{loan['id']}/return")
        first.close()
        other.close()

    def run(self) -> None:
        admin = self.api("api1", "admin")
        self.login(admin, ADMIN["email"], ADMIN["password"])
        for i in range(10):
            status, _, doc = admin.call("books.create", "POST", "/books", {
                "title": f"Cluster Tale {i}", "author": "Author", "isbn": isbn13(4200 + i),
                "published_year": 1990 + i, "copies": 5})
            assert status == 201, doc
            self.books.append(doc["id"])
        killer = threading.Thread(target=self.kill_mail_worker, daemon=True)
        killer.start()
        started = time.monotonic()
        with ThreadPoolExecutor(self.threads) as pool:
            list(pool.map(self.member, range(self.members)))
            self.run_ids = list(pool.map(self.start_job, range(self.jobs)))
        self.figures["load_seconds"] = round(time.monotonic() - started, 1)
        killer.join(120)
        self.figures["cache_shared"] = self.cache_check(admin)
        self.figures["limit_shared"] = self.limit_check()

    def start_job(self, i: int) -> str:
        admin = self.api(APIS[i % 2], "admin")
        self.login(admin, ADMIN["email"], ADMIN["password"])
        status, _, doc = admin.call("admin.tasks", "POST", f"/admin/tasks/{JOB_NAMES[i % len(JOB_NAMES)]}")
        assert status == 202, (status, doc)
        return doc["task_id"]

    def kill_mail_worker(self) -> None:
        deadline = time.monotonic() + 120
        while sum(self.cluster.sink.snapshot()[0].values()) < self.members // 3:
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)  # watching the sink, not synchronising
        self.figures["emails_before_kill"] = sum(self.cluster.sink.snapshot()[0].values())
        self.cluster.kill("mail")
        self.cluster.start("mail")
        self.figures["mail_worker_killed"] = True

    def cache_check(self, admin: Api) -> bool:
        """Read on api2 (cached), change on api1, read on api2 again: the change shows."""
        reader = self.api("api2", "reader")
        book = self.books[0]
        reader.call("books.get", "GET", f"/books/{book}")
        reader.call("books.get", "GET", f"/books/{book}")
        admin.call("books.update", "PATCH", f"/books/{book}", {"title": "Renamed on api1"})
        _, _, doc = reader.call("books.get", "GET", f"/books/{book}")
        return doc["title"] == "Renamed on api1"

    def limit_check(self) -> dict:
        """RATELIMIT_PASSWORD_RESET is 6/hour: 4 asks on each host, 6 pass in all."""
        statuses = Counter()
        for which in APIS:
            api = self.api(which, "anonymous")
            for _ in range(4):
                status, _, _ = api.call("users.password_reset", "POST", "/users/password-reset",
                                        {"email": "m0@cluster.example.com"})
                statuses[status] += 1
        return {"ok": statuses == {202: 6, 429: 2}, "statuses": dict(statuses)}


def database(cluster):
    return psycopg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{cluster.db_name}", autocommit=True)


def settle(cluster, run_ids: list[str], timeout: float = 180) -> bool:
    deadline = time.monotonic() + timeout
    with database(cluster) as conn:
        while time.monotonic() < deadline:
            busy = conn.execute("SELECT count(*) FROM notifications WHERE state IN ('pending', 'sending')"
                                ).fetchone()[0]
            open_runs = conn.execute("SELECT count(*) FROM task_runs WHERE id = ANY(%s) AND "
                                     "finished_at IS NULL", (run_ids,)).fetchone()[0]
            if busy == 0 and open_runs == 0:
                return True
            time.sleep(0.5)  # polling the outbox, not synchronising
    return False


def email_check(cluster) -> dict:
    received, _, _ = cluster.sink.snapshot()
    with database(cluster) as conn:
        rows = conn.execute("SELECT id, dedupe_key, state, last_error FROM notifications").fetchall()
    states, lost, unknown_arrived = Counter(), [], 0
    expected = set()
    for row_id, dedupe_key, state, last_error in rows:
        mid = message_id(row_id, dedupe_key, SENDER)
        expected.add(mid)
        states[state] += 1
        if state == "sent" and received[mid] != 1:
            lost.append(row_id)
        elif state == "failed" and (last_error or "").startswith((OUTCOME_UNKNOWN, BROKE_IN_DATA)):
            unknown_arrived += received[mid]
        elif state != "sent":
            lost.append(row_id)
    duplicates = sum(1 for count in received.values() if count > 1)
    return {"ok": not lost and not duplicates and set(received) <= expected, "rows": len(rows),
            "states": dict(states), "received": sum(received.values()), "duplicates": duplicates,
            "lost": len(lost), "outcome_unknown_that_arrived": unknown_arrived}


def job_check(cluster, run_ids: list[str]) -> dict:
    with database(cluster) as conn:
        runs = conn.execute("SELECT id, state FROM task_runs WHERE id = ANY(%s)", (run_ids,)).fetchall()
    states = Counter(state for _, state in runs)
    return {"ok": len(runs) == len(run_ids) and states == {"succeeded": len(run_ids)},
            "runs": len(run_ids), "states": dict(states)}


def metrics_check(load: Load) -> dict:
    """Each host's scraped request total equals what the driver sent it (both gunicorn
    workers added up), counted before the scrape itself."""
    out = {}
    for which in APIS:
        expected = load.sent[which]
        api = load.api(which, "prometheus")
        api.token = load.cluster.metrics_token
        api.conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {api.token}"})
        text = api.conn.getresponse().read().decode()
        total = sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
                    if s.name == "library_http_requests_total")
        out[which] = {"sent": expected, "scraped": int(total)}
    out["ok"] = all(v["sent"] == v["scraped"] for v in out.values())
    return out
