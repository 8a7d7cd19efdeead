"""Minimum valid time: snapshot reads below it fail with 400, history below it is dropped."""

import re
import time

from faunadb import query as q
from faunadb.errors import BadRequest
from faunadb.objects import Native, Ref

from helpers import expect_error

MVT_ERROR = re.compile(
    r"Requested timestamp (\S+) less than minimum allowed timestamp (\S+)\."
)


def iso(micros):
    """Java Instant.toString of a microsecond timestamp."""
    secs, frac = divmod(micros, 1_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if frac:
        digits = f"{frac:06d}"
        text += "." + (digits[:3] if digits.endswith("000") else digits)
    return text + "Z"


def test_reads_below_the_window_fail(short_history, uid):
    client = short_history.client()
    client.query(q.create_collection({"name": f"mvt_{uid}"}))
    v1 = client.query(q.create(q.collection(f"mvt_{uid}"), {"data": {"v": 1}}))
    v2 = client.query(q.update(v1["ref"], {"data": {"v": 2}}))
    # Inside the window the old version is readable, and the history is complete.
    assert client.query(q.at(v1["ts"], q.get(v1["ref"])))["data"] == {"v": 1}
    time.sleep(4)
    err = expect_error(lambda: client.query(q.at(v1["ts"], q.get(v1["ref"]))),
                       BadRequest, 400, "bad request", None)
    match = MVT_ERROR.fullmatch(err.errors[0].description)
    assert match, err.errors[0].description
    assert match.group(1) == iso(v1["ts"])
    expect_error(lambda: client.query(q.get(v1["ref"], ts=v1["ts"])),
                 BadRequest, 400, "bad request", None)
    expect_error(
        lambda: client.query(q.paginate(q.documents(q.collection(f"mvt_{uid}")), ts=v2["ts"])),
        BadRequest, 400, "bad request", None,
    )
    # The current version is still there.
    assert client.query(q.get(v1["ref"]))["data"] == {"v": 2}

    # History below the window is dropped silently.
    assert client.query(q.paginate(v1["ref"], events=True))["data"] == []
    assert client.query(
        q.paginate(q.documents(q.collection(f"mvt_{uid}")), events=True)
    )["data"] == []
    v3 = client.query(q.update(v1["ref"], {"data": {"v": 3}}))
    events = client.query(q.paginate(v1["ref"], events=True))["data"]
    assert [(e["action"], e["ts"], e["data"]) for e in events] == [("update", v3["ts"], {"v": 3})]
    gone = client.query(q.delete(v1["ref"]))
    assert gone["ts"] == v3["ts"]
    removes = client.query(
        q.paginate(q.documents(q.collection(f"mvt_{uid}")), events=True)
    )["data"]
    assert [(e["action"], e["document"]) for e in removes] == [("remove", v1["ref"])]


def test_seeded_history_is_outside_a_30_day_window(client):
    """Seed documents carry 2022 timestamps; their collection keeps 30 days of history."""
    ref = Ref("101", Ref("seed_letters", Native.COLLECTIONS))
    err = expect_error(lambda: client.query(q.at(1658188683585000, q.get(ref))),
                       BadRequest, 400, "bad request", None)
    match = MVT_ERROR.fullmatch(err.errors[0].description)
    assert match, err.errors[0].description
    assert match.group(1) == "2022-07-18T23:58:03.585Z"
    assert client.query(q.get(ref))["ts"] == 1658188683585000
