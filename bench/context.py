"""What every benchmark module gets: the services, the mode's sizes, shared servers."""

from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import Server


class Unavailable(Exception):
    """A piece the benchmark needs has not landed (or does not start): skip, don't fail."""


@dataclass
class Sizes:
    rounds: int            # interleaved A/B rounds; the reported figure is their median
    requests: int          # measured requests per throughput run
    concurrency: int
    latency_requests: int  # measured requests per sequential (concurrency 1) latency run
    duration: float        # wall-clock cap per load run, seconds
    books: int
    users: int
    loan_sizes: tuple
    job_runs: int          # runs of each side for the overdue check
    mail_runs: int
    mails: int


QUICK = Sizes(rounds=3, requests=1000, concurrency=4, latency_requests=120, duration=15,
              books=5000, users=1000, loan_sizes=(10_000, 100_000), job_runs=1, mail_runs=1, mails=1000)
FULL = Sizes(rounds=5, requests=3000, concurrency=4, latency_requests=400, duration=30,
             books=10_000, users=2000, loan_sizes=(100_000, 1_000_000), job_runs=3, mail_runs=3, mails=10_000)


@dataclass
class Context:
    services: object
    sizes: Sizes
    quick: bool
    base: Path | None = None  # a checkout of an earlier commit, for bench.compare
    servers: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict)  # every run's numbers, for bench/results/raw/

    def server(self, name: str) -> Server:
        """Start (once) and return one of the named gunicorn servers."""
        if name in self.servers:
            server = self.servers[name]
            if isinstance(server, Unavailable):
                raise server
            return server
        specs = {
            "bare": ("bench.baselines.bare:app", {}),
            "app": ("wsgi:app", {}),
            "app-nolimit": ("wsgi:app", {"RATELIMIT_ENABLED": "false"}),
            "app-base": ("wsgi:app", {}),
        }
        spec, extra = specs[name]
        cwd = self.base if name == "app-base" else None
        if name == "app-base" and cwd is None:
            raise Unavailable("no --base commit given")
        try:
            env = self.app_env(**extra, **({"PYTHONPATH": str(cwd)} if cwd else {}))
            server = Server(spec, env, name, **({"cwd": cwd} if cwd else {})).start()
        except RuntimeError as exc:
            self.servers[name] = Unavailable(f"{name} does not start ({str(exc)[-300:]})")
            raise self.servers[name] from None
        self.servers[name] = server
        return server

    def app_env(self, **extra: str) -> dict:
        return self.services.app_env(**extra)

    def stop(self) -> None:
        for server in self.servers.values():
            if not isinstance(server, Unavailable):
                server.stop()
