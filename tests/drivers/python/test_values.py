"""Every value type survives a write and a read through the driver."""

import datetime

from faunadb import query as q
from faunadb.objects import FaunaTime, Native, Query, Ref, SetRef

from helpers import Recorder


def sample(coll):
    return {
        "string": "héllo ☃ \"quoted\" \\ \n tab\t",
        "int": 42,
        "negative": -9007199254740993,
        "int64_max": 9223372036854775807,
        "double": 3.14,
        "whole_double": 1.0,
        "small_double": 1e-05,
        "big_double": 1e300,
        "true": True,
        "false": False,
        "null": None,
        "nested": {"a": [1, {"b": "c", "d": [[], {}]}], "empty": {}},
        "array": [1, "two", 3.5, None, False],
        "ref": Ref("123", Ref(coll, Native.COLLECTIONS)),
        "native_ref": Native.COLLECTIONS,
        "time": FaunaTime("2022-07-18T23:58:03.585123Z"),
        "time_seconds": FaunaTime("1970-01-01T00:00:00Z"),
        "date": datetime.date(2012, 2, 1),
        "bytes": bytearray(b"\x01\x02\x03\xfb\xff"),
        "@at_key": {"@inner": "x", "plain": 1},
    }


def test_every_value_type_round_trips(fauna, uid):
    rec = Recorder()
    client = fauna.client(observer=rec)
    coll = f"vals_{uid}"
    client.query(q.create_collection({"name": coll}))
    data = sample(coll)
    data["query"] = q.query(q.lambda_("x", q.select(["data", "a"], q.get(q.var("x")))))
    data["set"] = q.documents(q.collection(coll))
    created = client.query(q.create(q.collection(coll), {"data": data}))
    assert rec.last.status_code == 201

    expected = sample(coll)
    # Fauna drops object fields set to null when writing (nulls inside arrays stay).
    del expected["null"]
    expected["query"] = Query({
        "api_version": "4",
        "lambda": "x",
        "expr": {"select": ["data", "a"], "from": {"get": {"var": "x"}}},
    })
    expected["set"] = SetRef({"documents": Ref(coll, Native.COLLECTIONS)})
    assert created["data"] == expected

    fetched = client.query(q.get(created["ref"]))
    assert fetched["data"] == expected
    assert fetched["ts"] == created["ts"]
    assert set(fetched) == {"ref", "ts", "data"}
    raw = rec.last.response_raw
    # Server forms: standard base64 with padding, @obj escapes, Java doubles, Instant strings.
    assert '"bytes":{"@bytes":"AQID+/8="}' in raw
    assert '"data":{"@obj":{' in raw
    assert '"@at_key":{"@obj":{"@inner":"x","plain":1}}' in raw
    assert '"whole_double":1.0' in raw
    assert '"small_double":1.0E-5' in raw
    assert '"big_double":1.0E300' in raw
    assert '"time":{"@ts":"2022-07-18T23:58:03.585123Z"}' in raw
    assert '"time_seconds":{"@ts":"1970-01-01T00:00:00Z"}' in raw
    assert '"date":{"@date":"2012-02-01"}' in raw
    assert isinstance(fetched["data"]["whole_double"], float)
    assert isinstance(fetched["data"]["int"], int)

    page = client.query(
        q.map_(lambda r: q.get(r), q.paginate(q.documents(q.collection(coll))))
    )
    assert [d["data"] for d in page["data"]] == [expected]


def test_ref_of_a_document_renders_fully(client, uid):
    coll = f"refs_{uid}"
    client.query(q.create_collection({"name": coll}))
    doc = client.query(q.create(q.ref(q.collection(coll), "77"), {"data": {}}))
    assert doc["ref"] == Ref("77", Ref(coll, Native.COLLECTIONS))
    assert client.query(q.select(["ref", "id"], q.get(doc["ref"]))) == "77"
    assert client.query(q.select(["ref", "collection"], q.get(doc["ref"]))) == Ref(
        coll, Native.COLLECTIONS
    )


def test_seeded_documents_read_back(client):
    doc = client.query(q.get(q.ref(q.collection("seed_letters"), "101")))
    assert doc["ts"] == 1658188683585000
    assert doc["data"] == {
        "letter": "A",
        "n": 1,
        "x": 1.5,
        "ok": True,
        "when": FaunaTime("2022-07-18T23:58:03.585Z"),
        "day": datetime.date(2012, 2, 1),
        "nested": {"value": 15},
    }
    d104 = client.query(q.get(q.ref(q.collection("seed_letters"), "104")))
    assert d104["data"]["blob"] == bytearray(b"hello world")
    assert d104["data"]["meta"] == {"@key": "kept"}
    d103 = client.query(q.get(q.ref(q.collection("seed_letters"), "103")))
    assert d103["data"]["other"] == Ref("201", Ref("seed_private", Native.COLLECTIONS))
