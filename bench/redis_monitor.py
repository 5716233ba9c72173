"""Count the Redis commands a batch of requests causes, by who sent them.

MONITOR (not INFO commandstats) because commandstats also counts the commands a
Lua script runs inside Redis: an EVALSHA that does INCRBY+EXPIRE is one round
trip, and "commands per limit" is about round trips. MONITOR slows Redis down, so
it is used only for counting, never while timing.
"""

import threading
from collections import Counter

import redis

END = "bench-monitor-end"


def count_commands(redis_url: str, action) -> tuple[Counter, Counter]:
    """Run `action()` under MONITOR; return (client commands, commands run by scripts)."""
    client = redis.Redis.from_url(redis_url)
    direct, scripted = Counter(), Counter()
    ready = threading.Event()

    def watch():
        with client.monitor() as monitor:
            ready.set()
            for entry in monitor.listen():
                words = entry["command"].split()
                name = words[0].upper() if words else ""
                if name == "ECHO" and END in entry["command"]:
                    return
                if entry.get("client_type") == "lua" or entry.get("client_address") == "lua":
                    scripted[name] += 1
                else:
                    direct[name] += 1

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    ready.wait(5)
    try:
        action()
    finally:
        client.echo(END)
        thread.join(30)
    return direct, scripted
