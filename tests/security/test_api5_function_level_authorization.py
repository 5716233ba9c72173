"""API5:2023 Broken Function Level Authorization.

Every admin function answers 401 without a token and 403 to a member, before it
reads the body or the id. The list of admin functions is derived from the app
(views wrapped by `admin_required`, everything under /admin) and from the spec
(operations documented as admin), so a new admin route is covered automatically and
a route that forgets its decorator while documented as admin fails here.
"""

import inspect
import re

import pytest

from tests.helpers import is_problem
from tests.security.offline import offline_app, offline_spec

ADMIN_SUMMARY = re.compile(r"\(admin\)")
SKIPPED_METHODS = {"HEAD", "OPTIONS"}


def _declares_admin_role(view) -> bool:
    """True if any decorator layer of `view` is login_required(role="admin")."""
    while view is not None:
        if getattr(view, "__closure__", None) and \
                inspect.getclosurevars(view).nonlocals.get("role") == "admin":
            return True
        view = getattr(view, "__wrapped__", None)
    return False


def _admin_operations():
    app = offline_app()
    found = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if _declares_admin_role(view) or rule.rule.startswith("/admin"):
            found |= {(method, rule.rule) for method in rule.methods - SKIPPED_METHODS}
    for path, operations in offline_spec()["paths"].items():
        flask_path = re.sub(r"\{(\w+)\}", r"<\1>", path)
        for method, operation in operations.items():
            if ADMIN_SUMMARY.search(operation.get("summary", "")) or path.startswith("/admin"):
                found.add((method.upper(), _rule_for(app, flask_path)))
    return sorted(found)


def _rule_for(app, flask_path: str) -> str:
    # The spec writes {book_id}; the url_map writes <int:book_id>.
    for rule in app.url_map.iter_rules():
        if re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", rule.rule) == flask_path:
            return rule.rule
    raise AssertionError(f"{flask_path} is documented but not routed")


ADMIN_OPERATIONS = _admin_operations()


def _url(rule: str) -> str:
    return re.sub(r"<int:\w+>", "1", re.sub(r"<(?!int:)[^>]+>", "overdue-check", rule))


def test_the_derived_list_covers_the_known_admin_functions():
    expected = {("POST", "/books"), ("DELETE", "/books/<int:book_id>"), ("GET", "/users"),
                ("DELETE", "/users/<int:user_id>"), ("PATCH", "/loans/<int:loan_id>"),
                ("GET", "/admin/tasks")}
    assert expected <= set(ADMIN_OPERATIONS)


@pytest.mark.parametrize("method, rule", ADMIN_OPERATIONS)
def test_admin_functions_are_401_without_a_token(client, method, rule):
    response = client.open(_url(rule), method=method, json={})
    assert is_problem(response, 401), (method, rule, response.status_code)


@pytest.mark.parametrize("method, rule", ADMIN_OPERATIONS)
def test_admin_functions_are_403_for_members(client, member, method, rule):
    response = client.open(_url(rule), method=method, json={}, headers=member.headers)
    assert is_problem(response, 403), (method, rule, response.status_code)


def test_a_demoted_admin_loses_admin_functions_at_once(client, admin, make_member):
    make_member("second", role="admin")
    promoted = make_member("carol")
    client.patch(f"/users/{promoted.id}", json={"role": "admin"}, headers=admin.headers)
    assert client.get("/users", headers=promoted.headers).status_code == 200
    client.patch(f"/users/{promoted.id}", json={"role": "user"}, headers=admin.headers)
    assert is_problem(client.get("/users", headers=promoted.headers), 403)


def test_a_member_token_with_a_forged_role_claim_is_still_a_member(app, client, member):
    import jwt

    claims = jwt.decode(member.access_token, options={"verify_signature": False})
    forged = jwt.encode({**claims, "role": "admin"}, app.config["SECRET_KEY"], algorithm="HS256")
    assert is_problem(client.get("/users", headers={"Authorization": f"Bearer {forged}"}), 403)
