"""The load driver, in its own process: `python -m bench.soak.drive CONFIG_JSON`.

Threads with stdlib HTTP: members register, log in, browse, borrow, return, renew,
hold and cancel; an attacker hammers one account's login while others still log in.
Bounded by a per-member operation budget and a wall-clock deadline. Prints one JSON
object; bench.soak checks it together with the database and the SMTP sink.
"""

import json
import random
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlencode, urlsplit

from bench.soak.client import Api, Recorder, window_check

SORTS = ["title", "-title", "author", "published_year", "-published_year", "created_at"]
QUERIES = ["soak", "tale", "Author 2", "978", "nothing-matches", "ünïcödé", "100%_"]
OPS = {"browse": 30, "book": 10, "borrow": 22, "giveback": 15, "renew": 5, "hold": 8,
       "cancel": 3, "sync": 7}


def isbn13(n: int) -> str:
    digits = f"978{n:09d}"
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return digits + str(check)


class Member(threading.Thread):
    def __init__(self, run, index: int):
        super().__init__(name=f"member-{index}", daemon=True)
        self.run_, self.index = run, index
        self.rng = random.Random(run.cfg["seed"] * 1000 + index)
        self.api = run.api(f"member-{index}")
        self.loans: dict[int, int] = {}
        self.holds: dict[int, int] = {}

    def run(self) -> None:
        try:
            self.live()
        except Exception as e:  # noqa: BLE001 - a driver bug must show, not vanish in a thread
            self.run_.crashes.append(f"{self.name}: {e!r}")
        finally:
            self.api.close()

    def live(self) -> None:
        tag = self.run_.cfg["tag"]
        email, password = f"m{self.index}.{tag}@soak.example.com", f"soak-password-{self.index}"
        status, _, _ = self.api.call("users.register", "POST", "/users/register",
                                     {"username": f"m{self.index}x{tag}", "email": email,
                                      "password": password})
        self.run_.registration_done(email if status == 201 else None)
        if status != 201 or not self.run_.login(self.api, email, password):
            return
        if self.index < 3:  # a few reset emails join the outbox traffic
            status, _, _ = self.api.call("users.password_reset", "POST", "/users/password-reset",
                                         {"email": email})
            self.run_.count("password_reset_202", status == 202)
        names, weights = list(OPS), list(OPS.values())
        for _ in range(self.run_.cfg["ops_per_member"]):
            if time.monotonic() >= self.run_.deadline:
                break
            getattr(self, self.rng.choices(names, weights)[0])()

    def call(self, op, method, path, body=None):
        status, headers, doc = self.api.call(op, method, path, body)
        self.run_.count(op, status is not None and status < 400)
        if status == 429:  # this route's budget is spent; back off, other routes still work
            time.sleep(min(1.0, float(headers.get("retry-after", 1))))
        return status, doc

    def browse(self) -> None:
        params = {k: v for k, v in {
            "q": self.rng.choice(QUERIES + [None] * 3),
            "author": self.rng.choice([None, None, "Author 1", "author 3"]),
            "available": self.rng.choice([None, None, "true", "false"]),
            "sort": self.rng.choice(SORTS + [None]),
            "page": self.rng.choice([None, 1, 2, 3]),
            "per_page": self.rng.choice([None, 5, 20, 100, 500]),
        }.items() if v is not None}
        self.call("books.list", "GET", "/books" + (f"?{urlencode(params)}" if params else ""))

    def book(self) -> None:
        self.call("books.get", "GET", f"/books/{self.rng.choice(self.run_.books)}")

    def borrow(self, book_id: int | None = None) -> None:
        book_id = book_id or self.rng.choice(self.run_.books)
        status, doc = self.call("loans.create", "POST", "/loans", {"book_id": book_id})
        if status == 201:
            self.loans[doc["id"]] = book_id
        elif status == 409 and self.rng.random() < 0.4:
            self.hold(book_id)

    def giveback(self) -> None:
        if self.loans:
            loan_id = self.rng.choice(list(self.loans))
            status, _ = self.call("loans.return", "POST", f"/loans/{loan_id}/return")
            if status in (200, 409):
                self.loans.pop(loan_id)

    def renew(self) -> None:
        if self.loans:
            self.call("loans.renew", "POST", f"/loans/{self.rng.choice(list(self.loans))}/renew")

    def hold(self, book_id: int | None = None) -> None:
        book_id = book_id or self.rng.choice(self.run_.books)
        status, doc = self.call("holds.create", "POST", "/holds", {"book_id": book_id})
        if status == 201:
            self.holds[doc["id"]] = book_id

    def cancel(self) -> None:
        if self.holds:
            hold_id = self.rng.choice(list(self.holds))
            status, _ = self.call("holds.cancel", "DELETE", f"/holds/{hold_id}")
            if status in (204, 409):
                self.holds.pop(hold_id)

    def sync(self) -> None:
        """Re-read what the server says is ours, and pick up copies kept for us."""
        status, doc = self.call("holds.list", "GET", "/holds?per_page=100")
        if status == 200:
            self.holds = {h["id"]: h["book_id"] for h in doc["items"]
                          if h["status"] in ("waiting", "ready")}
            for h in doc["items"]:
                if h["status"] == "ready":
                    self.borrow(h["book_id"])
        status, doc = self.call("loans.list", "GET", "/loans?status=active&per_page=100")
        if status == 200:
            self.loans = {loan["id"]: loan["book_id"] for loan in doc["items"]}


class Run:
    def __init__(self, cfg: dict):
        self.cfg = cfg
        url = urlsplit(cfg["base"])
        if url.hostname != "127.0.0.1":
            raise SystemExit("the soak driver only talks to 127.0.0.1")
        self.host, self.port = url.hostname, url.port
        self.recorder = Recorder()
        self.deadline = time.monotonic() + cfg["duration"]
        self.lock = threading.Lock()
        self.ops: Counter = Counter()
        self.crashes: list[str] = []
        self.registered: list[str] = []
        self.registrations = threading.Semaphore(0)
        self.checks: dict[str, dict] = {}
        self.books: list[int] = []

    def api(self, who: str) -> Api:
        return Api(self.host, self.port, self.recorder, who)

    def count(self, op: str, ok: bool) -> None:
        with self.lock:
            self.ops[f"{op} {'ok' if ok else 'refused'}"] += 1

    def registration_done(self, email: str | None) -> None:
        if email:
            with self.lock:
                self.registered.append(email)
        self.registrations.release()

    def login(self, api: Api, email: str, password: str) -> bool:
        status, _, doc = api.call("users.login", "POST", "/users/login",
                                  {"email": email, "password": password})
        if status == 200:
            api.token = doc["access_token"]
        return status == 200

    def seed(self, admin: Api) -> None:
        if not self.login(admin, self.cfg["admin"]["email"], self.cfg["admin"]["password"]):
            raise SystemExit("admin login failed")
        rng = random.Random(self.cfg["seed"])
        for i in range(self.cfg["books"]):
            copies = 0 if i == 0 else rng.choice([1, 1, 2])  # book 0: holds only, until restocked
            status, _, doc = admin.call("books.create", "POST", "/books", {
                "title": f"Soak Tale {i}", "author": f"Author {i % 4}",
                "isbn": isbn13(self.cfg["seed"] * 1000 + i), "published_year": 1950 + i,
                "copies": copies})
            if status != 201:
                raise SystemExit(f"seeding book {i}: {status} {doc}")
            self.books.append(doc["id"])


def main() -> None:
    from bench.soak.probes import Attacker, register_probe, restock

    cfg = json.loads(sys.argv[1])
    run = Run(cfg)
    admin = run.api("admin")
    run.seed(admin)
    started = time.monotonic()
    attacker = Attacker(run)
    members = [Member(run, i) for i in range(cfg["members"])]
    for thread in [*members, attacker]:
        thread.start()
    register_probe(run, expected=cfg["members"] + 2)
    restock(run, admin)
    for thread in [*members, attacker]:
        thread.join(max(1.0, run.deadline - time.monotonic() + 30))
    elapsed = time.monotonic() - started
    rec = run.recorder
    run.checks["default_limit_window"] = window_check(rec, cfg["default_amount"], 60)
    json.dump({
        "elapsed_s": round(elapsed, 1),
        "requests": sum(sum(c.values()) for c in rec.statuses.values()),
        "statuses": {op: dict(c) for op, c in sorted(rec.statuses.items())},
        "violations": dict(rec.violations), "examples": rec.examples,
        "crashes": run.crashes + [f"{t.name} still running" for t in members if t.is_alive()],
        "checks": run.checks, "ops": dict(sorted(run.ops.items())),
        "registered": run.registered, "password_resets": run.ops["password_reset_202 ok"],
        "books": run.books,
    }, sys.stdout)


if __name__ == "__main__":
    main()
