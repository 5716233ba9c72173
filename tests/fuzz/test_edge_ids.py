"""Path ids at and beyond the database's integer range are a 404, never a 500.

(A PATCH may answer 400 first: its body is checked before the id is looked up.)

SQLite and PostgreSQL overflow at different points (int64 binding, int4 columns);
the fuzzer reaches these values only by chance, so every int route is swept here.
Routes come from the url_map, so a new one is covered without editing this file.
"""

import re

import pytest

from tests.helpers import is_problem

HUGE = [2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 10**30]


def _int_routes(app):
    for rule in app.url_map.iter_rules():
        if "<int:" in rule.rule:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, rule.rule


@pytest.mark.parametrize("number", HUGE)
def test_huge_path_ids_are_404(app, client, admin, number):
    routes = list(_int_routes(app))
    assert len(routes) >= 10
    for method, rule in routes:
        url = re.sub(r"<int:\w+>", str(number), rule)
        response = client.open(url, method=method, json={}, headers=admin.headers)
        expected = {400, 404} if method == "PATCH" else {404}
        assert response.status_code in expected, (method, url, response.status_code)
        assert is_problem(response, response.status_code)
