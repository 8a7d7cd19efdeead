"""Fidelity details checked through the official driver: Select all, multiple errors, Filter
over sets, query timeouts, read-only GET, role predicates, collation order, TTL, metrics."""

import pytest
from faunadb import query as q
from faunadb._json import to_json
from faunadb.errors import BadRequest, PermissionDenied, UnavailableError

from faunadb.objects import Native, Ref

from helpers import Recorder, expect_error, raw, walk_forward

DOCS = [{"data": {"x": 1}}, {"data": {"x": [2, 3]}}, {"data": {}}]


def test_select_all_selects_from_every_element(client):
    assert client.query(q.select_all(["data", "x"], DOCS)) == [1, 2, 3]
    assert client.query(raw({"select": ["data", "x"], "from": DOCS, "all": True})) == [1, 2, 3]
    assert client.query(raw({"select": "a", "from": {"a": [[1, [2]], 3]}, "all": True})) == [1, 2, 3]
    missing = raw({"select": "nope", "from": {"a": 1}, "all": True, "default": q.abort("never")})
    assert client.query(missing) == []


def test_range_reports_both_undefined_bounds(client):
    with pytest.raises(BadRequest) as info:
        client.query(q.paginate(q.range(q.collections(), q.collection("foo"), q.collection("bar"))))
    errors = info.value.request_result.response_content["errors"]
    assert errors == [
        {"position": ["paginate", "from"], "code": "invalid ref",
         "description": "Ref refers to undefined collection 'foo'"},
        {"position": ["paginate", "to"], "code": "invalid ref",
         "description": "Ref refers to undefined collection 'bar'"},
    ]
    assert info.value.request_result.status_code == 400


def test_array_elements_report_every_error(client):
    with pytest.raises(BadRequest) as info:
        client.query([1, q.abort("a"), q.abort("b")])
    assert info.value.request_result.response_content["errors"] == [
        {"position": [1], "code": "transaction aborted", "description": "a"},
        {"position": [2], "code": "transaction aborted", "description": "b"},
    ]


def letters(i):
    return Ref(str(i), Ref("seed_letters", Native.COLLECTIONS))


def test_filter_over_a_set_is_a_set_with_full_pages(client):
    vowel = q.lambda_("r", q.let(
        {"l": q.select(["data", "letter"], q.get(q.var("r")))},
        q.or_(*[q.equals(q.var("l"), x) for x in ("A", "C", "E")])))
    odd = q.filter_(vowel, q.documents(q.collection("seed_letters")))
    elems, pages = walk_forward(client, odd, 2)
    assert elems == [letters(101), letters(103), letters(105)]
    assert pages[0] == {"after": [letters(105)], "data": [letters(101), letters(103)]}
    assert pages[1] == {"before": [letters(105)], "data": [letters(105)]}
    assert client.query(q.count(odd)) == 3


TIMED_OUT = [{"code": "time out", "description": "Read timed out (Query eval has timed out.)"}]
GET_WRITE = ("Call performs a write, which is not allowed in get requests.")


def test_queries_past_x_query_timeout_get_503(start_instance):
    slow = start_instance("--eval-delay", "20", name="eval-delay")
    client = slow.client()
    # Every query evaluates for at least 20 ms, so a 1 ms timeout always expires.
    with pytest.raises(UnavailableError) as info:
        client.query(1, timeout_millis=1)
    assert info.value.request_result.status_code == 503
    assert info.value.request_result.response_content["errors"] == TIMED_OUT
    assert client.query(1, timeout_millis=600000) == 1


def test_get_queries_are_read_only(client, uid):
    def get(expr):
        return client._execute("GET", "", None, query={"q": to_json(expr)})

    expect_error(lambda: get(q.create_collection({"name": f"get_{uid}"})),
                 BadRequest, 400, "invalid expression", GET_WRITE, [])
    assert get(q.exists(q.collection(f"get_{uid}"))) is False
    assert get(q.add(1, 2)) == 3


def test_role_read_predicate_filters_documents(client, fauna, uid):
    coll = f"pred_{uid}"
    client.query(q.create_collection({"name": coll}))
    for i, public in ((1, True), (2, False), (3, True)):
        client.query(q.create(q.ref(q.collection(coll), str(i)), {"data": {"public": public}}))
    client.query(q.create_role({
        "name": f"pred_{uid}",
        "privileges": [{
            "resource": q.collection(coll),
            "actions": {"read": q.query(lambda ref: q.select(["data", "public"], q.get(ref)))},
        }],
    }))
    key = client.query(q.create_key({"role": q.role(f"pred_{uid}")}))
    reader = fauna.client(key["secret"])
    page = reader.query(q.paginate(q.documents(q.collection(coll))))
    assert [r.id() for r in page["data"]] == ["1", "3"]
    expect_error(lambda: reader.query(q.get(q.ref(q.collection(coll), "2"))),
                 PermissionDenied, 403, "permission denied",
                 "Insufficient privileges to perform the action.", [])


def test_index_strings_sort_by_icu_collation(client, uid):
    coll = f"coll_{uid}"
    client.query(q.create_collection({"name": coll}))
    names = ["b", "B", "a", "A", "é", "e", "E", "ä", "z", "10", "9", "a b", "ab"]
    client.query([q.create(q.collection(coll), {"data": {"name": n}}) for n in names])
    client.query(q.create_index({"name": f"coll_{uid}_by_name", "source": q.collection(coll),
                                 "values": [{"field": ["data", "name"]}]}))
    page = client.query(q.paginate(q.match(q.index(f"coll_{uid}_by_name")), size=100))
    assert page["data"] == ["10", "9", "a", "A", "ä", "a b", "ab", "b", "B", "e", "E", "é", "z"]


def test_ttl_change_removes_and_adds_expiry_writes_nothing(client, uid):
    coll = f"ttl_{uid}"
    client.query(q.create_collection({"name": coll}))
    live = q.ref(q.collection(coll), "1")
    gone = q.ref(q.collection(coll), "2")
    client.query(q.create(live, {"data": {}, "ttl": q.time("2999-01-01T00:00:00Z")}))
    client.query(q.update(live, {"ttl": q.time("2999-06-01T00:00:00Z")}))
    client.query(q.create(gone, {"data": {}, "ttl": q.time("2000-01-01T00:00:00Z")}))
    page = client.query(q.paginate(q.documents(q.collection(coll)), events=True))
    assert [(e["action"], e["document"].id()) for e in page["data"]] == [
        ("add", "1"), ("remove", "1"), ("add", "1"), ("add", "2")]
    assert client.query(q.paginate(q.documents(q.collection(coll))))["data"] == [
        Ref("1", Ref(coll, Native.COLLECTIONS))]


def test_metric_headers_carry_real_figures(fauna):
    recorder = Recorder()
    client = fauna.client(observer=recorder)
    client.query(q.add(1, 2))
    headers = recorder.last.response_headers
    assert headers["x-compute-ops"] == "1"
    assert headers["x-byte-read-ops"] == "0"
    assert headers["x-byte-write-ops"] == "0"
    assert headers["x-storage-bytes-read"] == "0"
    assert headers["x-txn-retries"] == "0"
    assert int(headers["x-query-bytes-in"]) == len(to_json(q.add(1, 2)).encode())
    assert int(headers["x-query-bytes-out"]) == len(recorder.last.response_raw.encode())
    client.query(q.get(letters(101)))
    headers = recorder.last.response_headers
    # One small document: one read op, its stored bytes, no writes.
    assert headers["x-byte-read-ops"] == "1"
    assert int(headers["x-storage-bytes-read"]) > 0
    assert headers["x-byte-write-ops"] == "0"
