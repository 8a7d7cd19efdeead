"""Fidelity details checked through the official driver: Select all, multiple errors, Filter
over sets, query timeouts, read-only GET, role predicates, collation order, TTL, metrics."""

from faunadb import query as q

from helpers import raw

DOCS = [{"data": {"x": 1}}, {"data": {"x": [2, 3]}}, {"data": {}}]


def test_select_all_selects_from_every_element(client):
    assert client.query(q.select_all(["data", "x"], DOCS)) == [1, 2, 3]
    assert client.query(raw({"select": ["data", "x"], "from": DOCS, "all": True})) == [1, 2, 3]
    assert client.query(raw({"select": "a", "from": {"a": [[1, [2]], 3]}, "all": True})) == [1, 2, 3]
    missing = raw({"select": "nope", "from": {"a": 1}, "all": True, "default": q.abort("never")})
    assert client.query(missing) == []
