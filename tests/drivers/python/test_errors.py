"""Every row of the status table, judged through the driver's exception classes."""

import base64
import re

import requests
from faunadb import query as q
from faunadb.errors import BadRequest, NotFound, Unauthorized, UnavailableError, UnexpectedError

from helpers import NO_POSITION, expect_error, raw

HEADERS = {"Authorization": "Bearer secret", "X-FaunaDB-API-Version": "4"}


def test_invalid_expression(client):
    expect_error(lambda: client.query(raw({"foo": "bar"})), BadRequest, 400,
                 "invalid expression",
                 "No form/function found, or invalid argument keys: { foo }.", [])
    expect_error(lambda: client.query(q.var("x")), BadRequest, 400,
                 "invalid expression", "Variable 'x' is not defined.", [])


def test_invalid_json_body(fauna):
    res = requests.post(fauna.url + "/", data=b"{nope", headers=HEADERS)
    assert res.status_code == 400
    assert res.json() == {"errors": [{
        "position": [], "code": "invalid expression",
        "description": "Request body is not valid JSON.",
    }]}


def test_invalid_argument(client):
    expect_error(lambda: client.query(q.add(1, "two")), BadRequest, 400,
                 "invalid argument", "Number expected, String provided.", ["add", 1])


def test_invalid_ref(client, uid):
    expect_error(
        lambda: client.query(q.paginate(q.documents(q.collection(f"nope_{uid}")))),
        BadRequest, 400, "invalid ref", f"Ref refers to undefined collection 'nope_{uid}'",
        ["paginate", "documents"],
    )


def test_transaction_aborted_writes_nothing(client, uid):
    coll = f"abort_{uid}"
    client.query(q.create_collection({"name": coll}))
    expect_error(
        lambda: client.query(q.do(q.create(q.ref(q.collection(coll), "1"), {}), q.abort("boom"))),
        BadRequest, 400, "transaction aborted", "boom", ["do", 1],
    )
    assert client.query(q.exists(q.ref(q.collection(coll), "1"))) is False


def test_select_default_is_lazy(client):
    """Since API 3 the default is evaluated only when the path is missing (BasicFunctionsSpec
    "default value is lazy"; API 2.7 evaluated it eagerly)."""
    assert client.query(q.select("x", {"x": True}, q.abort("msg"))) is True
    expect_error(lambda: client.query(q.select("y", {"x": True}, q.abort("msg"))),
                 BadRequest, 400, "transaction aborted", "msg", ["default"])


def test_instance_already_exists(client, uid):
    coll = f"dupdoc_{uid}"
    client.query(q.create_collection({"name": coll}))
    client.query(q.create(q.ref(q.collection(coll), "1"), {}))
    expect_error(lambda: client.query(q.create(q.ref(q.collection(coll), "1"), {})),
                 BadRequest, 400, "instance already exists", "Document already exists.",
                 ["create"])


def test_bad_request_header(fauna):
    slow = fauna.client(query_timeout_ms=600001)
    expect_error(lambda: slow.query(q.now()), BadRequest, 400, "bad request",
                 "Invalid header 'x-query-timeout': Must be less than or equal to 600000.")
    res = requests.post(fauna.url + "/", data=b"1",
                        headers={**HEADERS, "X-FaunaDB-API-Version": "x"})
    assert res.status_code == 400
    assert res.json() == {"errors": [{
        "code": "bad request",
        "description": "Invalid header 'x-faunadb-api-version': Unsupported or invalid API version 'x'.",
    }]}


def test_unauthorized(fauna):
    bad = fauna.client("not-a-secret")
    err = expect_error(lambda: bad.query(q.now()), Unauthorized, 401, "unauthorized",
                       "Unauthorized")
    headers = err.request_result.response_headers
    assert headers["www-authenticate"] == 'Basic realm="Unauthorized"'
    assert "x-txn-time" in headers
    assert "x-compute-ops" not in headers


def test_basic_auth_is_accepted(fauna):
    b64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
    for header in [f"Basic {b64('secret:')}", f"Basic {b64('secret')}",
                   f"Basic {b64('secret:')}:"]:
        res = requests.post(fauna.url + "/", data=b'[1,"two"]',
                            headers={"Authorization": header, "X-FaunaDB-API-Version": "4"})
        assert res.status_code == 200, res.text
        assert res.json() == {"resource": [1, "two"]}


def test_instance_not_found(client, uid):
    coll = f"nf_{uid}"
    client.query(q.create_collection({"name": coll}))
    expect_error(lambda: client.query(q.get(q.ref(q.collection(coll), "123"))),
                 NotFound, 404, "instance not found", "Document not found.", [])


def test_value_not_found(client):
    expect_error(lambda: client.query(q.select("a", {})), NotFound, 404,
                 "value not found", "Value not found at path [a].", ["from"])


def test_not_found_path(fauna, client):
    expect_error(lambda: client._execute("GET", "nope"), NotFound, 404, "not found",
                 "Not Found")
    res = requests.get(fauna.url + "/nope")
    assert res.status_code == 404
    assert res.json() == {"errors": [{"code": "not found", "description": "Not Found"}]}


def test_method_not_allowed(fauna, client):
    err = expect_error(lambda: client._execute("DELETE", ""), UnexpectedError, 405,
                       "method not allowed", "Allowed methods are GET, POST.")
    assert err.request_result.response_headers["allow"] == "GET, POST"


def test_request_too_large(fauna):
    res = requests.post(fauna.url + "/", data=b" " * (8 * 1024 * 1024 + 1), headers=HEADERS)
    assert res.status_code == 413
    assert res.json() == {"errors": [{
        "code": "request too large", "description": "Request entity is too large",
    }]}


def test_rate_limited(start_instance):
    faulty = start_instance("--fault-rate", "1", "--faults", "429", name="faults-429")
    err = expect_error(lambda: faulty.client().query(q.now()), UnexpectedError, 429,
                       "too many requests", "Rate limit for read exceeded")
    assert err.request_result.response_headers["x-rate-limited-ops"] == "read"


def test_timed_out(start_instance):
    faulty = start_instance("--fault-rate", "1", "--faults", "503", name="faults-503")
    expect_error(lambda: faulty.client().query(q.now()), UnavailableError, 503, "time out",
                 "Read timed out")


def test_dropped_connection(start_instance):
    faulty = start_instance("--fault-rate", "1", "--faults", "drop", name="faults-drop")
    try:
        faulty.client().query(q.now())
    except requests.exceptions.ConnectionError:
        pass
    else:
        raise AssertionError("expected the connection to be dropped")


def test_faults_happen_before_evaluation(start_instance):
    """With a 50 % fault rate, exactly the acknowledged creates exist afterwards."""
    inst = start_instance("--fault-rate", "0.5", "--fault-seed", "7", name="faults-half")
    admin = inst.client()

    def retry(expr):
        for _ in range(200):
            try:
                return admin.query(expr)
            except (UnexpectedError, UnavailableError, requests.exceptions.ConnectionError):
                continue
        raise AssertionError("never succeeded")

    retry(q.create_collection({"name": "half"}))
    acknowledged = set()
    for i in range(1, 41):
        try:
            inst.client().query(q.create(q.ref(q.collection("half"), str(i)), {}))
            acknowledged.add(str(i))
        except (UnexpectedError, UnavailableError, requests.exceptions.ConnectionError):
            pass
    assert 0 < len(acknowledged) < 40
    stored = retry(q.paginate(q.documents(q.collection("half")), size=100))["data"]
    assert {r.id() for r in stored} == acknowledged


def test_txn_time_header_is_monotonic_across_writes(fauna, client, uid):
    coll = f"tt_{uid}"
    client.query(q.create_collection({"name": coll}))
    times = []
    for _ in range(3):
        doc = client.query(q.create(q.collection(coll), {}))
        times.append(doc["ts"])
    assert times == sorted(times) and len(set(times)) == 3
    res = requests.post(fauna.url + "/", data=b'{"now":null}', headers=HEADERS)
    assert res.status_code == 200
    assert int(res.headers["x-txn-time"]) >= times[-1]
    for name in ["x-compute-ops", "x-byte-read-ops", "x-byte-write-ops", "x-query-time",
                 "x-query-bytes-in", "x-query-bytes-out", "x-storage-bytes-read",
                 "x-storage-bytes-write", "x-txn-retries"]:
        assert re.fullmatch(r"\d+", res.headers[name]), name
    assert res.headers["content-type"] == "application/json;charset=utf-8"
