"""Every 409 carries a `code` from api.errors.REFUSAL_CODES, and the spec lists them all.

The source is read as Python (ast): each `Conflict(...)` must pass `code=` and each
`refuse(session, code, detail)` a code, as a string literal from the set — or, where
the code is computed (renewal), every string a helper returns as a code must be in it.
"""

import ast
from pathlib import Path

from api import create_app
from api.errors import REFUSAL_CODES

ROOT = Path(__file__).resolve().parents[2]
SPEC_CODES = {"no_copy_available", "already_borrowed", "loan_limit", "has_overdue", "balance_limit",
              "patron_blocked", "account_inactive", "renewal_limit", "loan_overdue", "reserved_for_other",
              "item_unavailable", "hold_not_needed", "duplicate"}
# Functions that return (code, detail) for a refusal computed at run time, or build a
# list of such pairs.
CODE_RETURNING = {"borrow_blockers", "renew_blockers", "account_blockers"}


def _sources():
    for folder in ("api", "worker"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path, ast.parse(path.read_text(), str(path))


def _name(func) -> str | None:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _params(tree) -> dict[int, set[str]]:
    """line of each call -> parameter names of the function it sits in."""
    names = {}
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef):
            params = {a.arg for a in fn.args.args + fn.args.kwonlyargs}
            for node in ast.walk(fn):
                if isinstance(node, ast.Call):
                    names[id(node)] = params
    return names


def _refusals():
    """(where, code node) for every Conflict(...) and refuse(...) call; a code that is
    the enclosing function's own parameter (refuse() itself) is checked at its callers."""
    for path, tree in _sources():
        params = _params(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if _name(node.func) == "Conflict":
                code = next((k.value for k in node.keywords if k.arg == "code"), None)
                if isinstance(code, ast.Name) and code.id in params.get(id(node), ()):
                    continue
                yield where, code
            elif _name(node.func) == "refuse" and any(isinstance(a, ast.Starred) for a in node.args):
                yield where, "computed"
            elif _name(node.func) == "refuse" and len(node.args) >= 2:
                yield where, node.args[1]


def _returned_codes():
    for _path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in CODE_RETURNING:
                for ret in ast.walk(node):
                    if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Tuple):
                        yield ret.value.elts[0].value
                    if (isinstance(ret, ast.Call) and _name(ret.func) == "append" and ret.args
                            and isinstance(ret.args[0], ast.Tuple)):
                        yield ret.args[0].elts[0].value


def test_every_409_names_a_known_code():
    unknown = []
    for where, code in _refusals():
        if code == "computed":
            continue
        if not (isinstance(code, ast.Constant) and code.value in REFUSAL_CODES):
            unknown.append((where, ast.dump(code) if code is not None else None))
    assert unknown == []
    assert set(_returned_codes()) <= set(REFUSAL_CODES)
    assert set(_returned_codes())  # the helper is still there and found


def test_the_spec_lists_every_code_and_spec_codes_exist():
    assert set(REFUSAL_CODES) >= SPEC_CODES
    app = create_app("testing", REDIS_URL="redis://127.0.0.1:1/0", SQLALCHEMY_DATABASE_URI="sqlite://")
    spec = app.test_client().get("/apispec.json").get_json()
    assert spec["components"]["schemas"]["Problem"]["properties"]["code"]["enum"] == sorted(REFUSAL_CODES)

