"""Moved to scripts/embedded_redis.py: the app never starts a process. These names
stay importable from here for code written before the move (benchmarks)."""

from scripts.embedded_redis import free_port, start_redis_server, wait_for_redis  # noqa: F401
