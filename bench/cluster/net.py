"""Our own network namespaces on one bridge, and nothing else.

A bridge `libops0` with 10.200.0.1/24 on the host; one namespace per piece
(`libops-<name>`), joined to the bridge by a veth pair and given 10.200.0.<n>. The
run refuses to start when any of those names or that subnet is already in use, and
`down()` removes only what `up()` made (deleting a namespace deletes its veth).
"""

import subprocess

BRIDGE = "libops0"
HOST_IP = "10.200.0.1"
SUBNET = "10.200.0."
NODES = {"api1": "10.200.0.11", "api2": "10.200.0.12", "mail": "10.200.0.13",
         "jobs": "10.200.0.14", "beat": "10.200.0.15"}


def ns(name: str) -> str:
    return f"libops-{name}"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def in_use() -> list[str]:
    problems = []
    if SUBNET in _ip("-4", "addr", "show").stdout:
        problems.append(f"an address in {SUBNET}0/24 is already configured on this host")
    if _ip("link", "show", BRIDGE, check=False).returncode == 0:
        problems.append(f"interface {BRIDGE} exists")
    existing = _ip("netns", "list").stdout
    problems += [f"namespace {ns(n)} exists" for n in NODES if ns(n) in existing]
    return problems


def up() -> None:
    problems = in_use()
    if problems:
        raise SystemExit("refusing to touch the network: " + "; ".join(problems)
                         + " (a previous run? `python -m bench.cluster --down`)")
    _ip("link", "add", BRIDGE, "type", "bridge")
    _ip("addr", "add", f"{HOST_IP}/24", "dev", BRIDGE)
    _ip("link", "set", BRIDGE, "up")
    for name, address in NODES.items():
        host_end, ns_end = f"lop-{name}-h", f"lop-{name}-n"
        _ip("netns", "add", ns(name))
        _ip("link", "add", host_end, "type", "veth", "peer", "name", ns_end)
        _ip("link", "set", host_end, "master", BRIDGE)
        _ip("link", "set", host_end, "up")
        _ip("link", "set", ns_end, "netns", ns(name))
        _ip("-n", ns(name), "addr", "add", f"{address}/24", "dev", ns_end)
        _ip("-n", ns(name), "link", "set", ns_end, "up")
        _ip("-n", ns(name), "link", "set", "lo", "up")


def down() -> None:
    existing = _ip("netns", "list", check=False).stdout
    for name in NODES:
        if ns(name) in existing:
            _ip("netns", "del", ns(name), check=False)
    if _ip("link", "show", BRIDGE, check=False).returncode == 0:
        _ip("link", "del", BRIDGE, check=False)


def exec_prefix(name: str) -> list[str]:
    return ["ip", "netns", "exec", ns(name)]
