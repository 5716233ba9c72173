"""Docker cannot run here, so the deployment files are kept honest by reading them:
every command, module, file and environment variable they name exists."""

import ast
import importlib.metadata
import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
QUEUES = {"mail", "jobs"}  # SPEC "Queues"
OUR_COMMANDS = {"gunicorn", "celery", "flask"}
# Variables read by the tools themselves rather than by our code, and why they exist.
TOOL_VARIABLES = {
    "WEB_CONCURRENCY": "gunicorn's default --workers",
    "PATH": "the shell", "PYTHONUNBUFFERED": "python", "PYTHONDONTWRITEBYTECODE": "python",
    "PIP_NO_CACHE_DIR": "pip", "PIP_DISABLE_PIP_VERSION_CHECK": "pip",
}
SOURCES = [ROOT / "config.py", ROOT / "gunicorn.conf.py", *ROOT.glob("api/**/*.py"),
           *ROOT.glob("worker/**/*.py")]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def ours(compose):
    return {name: svc for name, svc in compose["services"].items() if "build" in svc}


def read_by_project(name: str) -> bool:
    return any(f'"{name}"' in path.read_text() for path in SOURCES)


def check_command(argv: list[str], app) -> None:
    program = argv[0]
    assert program in OUR_COMMANDS, argv
    # The image installs requirements.txt only (not the dev requirements).
    pinned = {line.split("==")[0].split("[")[0].lower()
              for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line}
    assert program in pinned and (BIN / program).exists(), f"{program} is not in requirements.txt"
    args = argv[1:]
    if program == "gunicorn":
        config = args[args.index("--config") + 1]
        assert (ROOT / config).is_file()
        module, attr = args[-1].split(":")
        tree = ast.parse((ROOT / f"{module}.py").read_text())
        assert attr in {t.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
                        for t in node.targets if isinstance(t, ast.Name)}
    elif program == "celery":
        assert args[0] == "-A" and importlib.util.find_spec(args[1]) is not None
        assert args[2] in {"worker", "beat"}
        if "-Q" in args:
            queues = set(args[args.index("-Q") + 1].split(","))
            configured = {q.name for q in (app.extensions["celery"].conf.task_queues or ())}
            assert queues <= (QUEUES | configured), queues
    else:  # flask --app wsgi db upgrade
        assert args[:2] == ["--app", "wsgi"] and (ROOT / "wsgi.py").is_file()
        commands = {ep.name for ep in importlib.metadata.entry_points(group="flask.commands")}
        assert args[2] in commands | set(app.cli.commands), args


def test_compose_services_run_our_commands(compose, app):
    services = ours(compose)
    assert set(services) >= {"migrate", "api", "worker-mail", "worker-jobs", "beat"}
    for svc in services.values():
        check_command(svc["command"], app)
    queues = {name: svc["command"][svc["command"].index("-Q") + 1]
              for name, svc in services.items() if "-Q" in svc["command"]}
    assert queues == {"worker-mail": "mail", "worker-jobs": "jobs"}
    assert [name for name, svc in services.items() if svc["command"][3:4] == ["beat"]] == ["beat"]


def test_compose_environment_is_read_by_the_project(compose):
    for name, svc in ours(compose).items():
        for variable in svc.get("environment", {}):
            assert variable in TOOL_VARIABLES or read_by_project(variable), f"{name}: {variable}"


def test_compose_infrastructure(compose, app):
    services = compose["services"]
    redis = " ".join(services["redis"]["command"])
    assert "--maxmemory-policy noeviction" in redis
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert {"postgres", "redis", "mailpit"} <= set(services)
    for name, svc in services.items():
        for dependency in svc.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    probe = " ".join(services["api"]["healthcheck"]["test"])
    path = re.search(r"http://127.0.0.1:8000(/[\w/]*)", probe).group(1)
    assert path in {rule.rule for rule in app.url_map.iter_rules()}
    env = services["api"]["environment"]
    assert env["MAIL_SERVER"] in services and env["REDIS_URL"].startswith("redis://redis:")
    assert "@postgres:" in env["DATABASE_URL"]


def test_dockerfile(dockerfile, app):
    stages = [args for op, args in dockerfile if op == "FROM"]
    assert len(stages) >= 2, "multi-stage"
    for op, args in dockerfile:
        if op == "COPY" and "--from=" not in args:
            for source in shlex.split(args)[:-1]:
                assert (ROOT / source).exists(), source
        if op == "ENV":
            for variable in re.findall(r"(\w+)=", args):
                assert variable in TOOL_VARIABLES or read_by_project(variable), variable
    [user] = [args for op, args in dockerfile if op == "USER"]
    assert user not in {"root", "0"}
    [cmd] = [args for op, args in dockerfile if op == "CMD"]
    check_command(__import__("json").loads(cmd), app)
    # Everything the image copies is left in the build context.
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    copied = {s for op, args in dockerfile if op == "COPY" and "--from=" not in args
              for s in shlex.split(args)[:-1]}
    assert not copied & ignored
    assert {".git", ".venv", ".env", "var"} <= ignored


def test_docker_compose_config_accepts_it():
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("docker client without the compose plugin")
    result = subprocess.run([docker, "compose", "-f", str(ROOT / "compose.yaml"), "config", "--quiet"],
                            capture_output=True, text=True, timeout=60,
                            env={"SECRET_KEY": "x" * 48, "PATH": "/usr/bin:/bin:/usr/local/bin"})
    assert result.returncode == 0, result.stderr
