"""Limit probes and admin moves that run alongside the members' load.

Each probe records a check in `run.checks` as {"ok": bool, ...}; bench.soak fails
the run on any check that is not ok.
"""

import threading
import time


def wait_until(run, moment: float) -> None:
    time.sleep(max(0.0, min(moment, run.deadline) - time.monotonic()))


class Attacker(threading.Thread):
    """Wrong passwords for one account, then proof that the limit is per account:
    the same address still logs in as someone else."""

    def __init__(self, run):
        super().__init__(name="attacker", daemon=True)
        self.run_ = run
        self.started = time.monotonic()

    def run(self) -> None:
        try:
            self.attack()
        except Exception as e:  # noqa: BLE001 - a driver bug must show, not vanish in a thread
            self.run_.crashes.append(f"attacker: {e!r}")

    def attack(self) -> None:
        run, tag = self.run_, self.run_.cfg["tag"]
        accounts = {}
        for name in ("victim", "bystander"):
            api = run.api(name)
            email, password = f"{name}.{tag}@soak.example.com", f"{name}-password-1"
            status, _, _ = api.call("users.register", "POST", "/users/register",
                                    {"username": f"{name}x{tag}", "email": email,
                                     "password": password})
            run.registration_done(email if status == 201 else None)
            accounts[name] = (api, email, password)
        # Start once the members are logging in too, so the limit is tested under load.
        wait_until(run, self.started + 2)
        api, email, password = accounts["victim"]
        amount = run.cfg["login_amount"]
        got = []
        for _ in range(amount + 3):
            status, headers, _ = api.call("users.login", "POST", "/users/login",
                                          {"email": email, "password": "wrong-password"})
            got.append((status, headers.get("retry-after")))
        status, headers, _ = api.call("users.login", "POST", "/users/login",
                                      {"email": email, "password": password})
        got.append((status, headers.get("retry-after")))
        expected = [401] * amount + [429] * 4
        limited_ok = all(ra and ra.isdigit() for s, ra in got if s == 429)
        by_api, by_email, by_password = accounts["bystander"]
        other_ok = run.login(by_api, by_email, by_password)
        run.checks["login_limit"] = {
            "ok": [s for s, _ in got] == expected and limited_ok and other_ok,
            "victim_statuses": [s for s, _ in got], "expected": expected,
            "retry_after_on_429": limited_ok, "other_account_logged_in": other_ok}
        status, _, _ = by_api.call("users.password_reset", "POST", "/users/password-reset",
                                   {"email": f"nobody.{tag}@soak.example.com"})
        run.count("password_reset_unknown_202", status == 202)
        if other_ok:
            self.default_limit_probe(by_api)

    def default_limit_probe(self, api) -> None:
        """RATELIMIT_DEFAULT on one cheap route: exactly `amount` pass, then 429."""
        run, amount = self.run_, self.run_.cfg["default_amount"]
        t0 = time.monotonic()
        got = [api.call("users.me", "GET", "/users/me")[0] for _ in range(amount + 5)]
        elapsed = time.monotonic() - t0
        expected = [200] * amount + [429] * 5
        # A probe slower than the window would legitimately see a fresh window open.
        conclusive = elapsed < 55
        run.checks["default_limit_probe"] = {
            "ok": got == expected or not conclusive, "conclusive": conclusive,
            "elapsed_s": round(elapsed, 1), "passed": got.count(200), "limited": got.count(429),
            "expected_passed": amount}


def register_probe(run, expected: int) -> None:
    """Once every planned registration is in, one more from the address is 429."""
    for _ in range(expected):
        if not run.registrations.acquire(timeout=max(0.1, run.deadline - time.monotonic())):
            run.checks["register_limit"] = {"ok": False, "detail": "registrations did not finish"}
            return
    api = run.api("register-probe")
    tag = run.cfg["tag"]
    email = f"extra.{tag}@soak.example.com"
    status, headers, _ = api.call("users.register", "POST", "/users/register",
                                  {"username": f"extrax{tag}", "email": email,
                                   "password": "extra-password"})
    if status == 201:
        run.registration_done(email)  # so its welcome email is still accounted for
    run.checks["register_limit"] = {
        "ok": status == 429 and headers.get("retry-after", "").isdigit(),
        "status_after_limit": status, "limit": expected}
    api.close()


def restock(run, admin) -> None:
    """Mid-run, give the copy-less book a copy: new copies must go to its queue first."""
    wait_until(run, run.deadline - run.cfg["duration"] / 2)
    status, _, doc = admin.call("books.update", "PATCH", f"/books/{run.books[0]}", {"copies": 1})
    run.checks["restock"] = {"ok": status == 200, "status": status}
