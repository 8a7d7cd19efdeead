"""Transport details the driver relies on: ping, gzip, keep-alive, txn time echo."""

import gzip

import requests
from faunadb import query as q

from helpers import Recorder


def test_ping(fauna, client):
    assert client.ping() == "Scope write is OK"
    assert client.ping("read") == "Scope read is OK"
    assert client.ping("node") == "Scope node is OK"
    assert client.ping("all") == "Scope all is OK"


def test_gzip_when_accepted(fauna, client, uid):
    coll = f"gz_{uid}"
    client.query(q.create_collection({"name": coll}))
    client.query(q.do(*[
        q.create(q.ref(q.collection(coll), str(i)), {"data": {"text": "x" * 100}})
        for i in range(1, 51)
    ]))
    body = b'{"map":{"lambda":"x","expr":{"get":{"var":"x"}}},' \
           b'"collection":{"paginate":{"documents":{"collection":"%s"}}}}' % coll.encode()
    headers = {"Authorization": "Bearer secret", "X-FaunaDB-API-Version": "4"}
    res = requests.post(fauna.url + "/", data=body, stream=True,
                        headers={**headers, "Accept-Encoding": "gzip"})
    assert res.headers["content-encoding"] == "gzip"
    compressed = res.raw.read()
    page = gzip.decompress(compressed)
    plain = requests.post(fauna.url + "/", data=body,
                          headers={**headers, "Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == page
    assert len(compressed) < len(page)
    # The driver (which sends Accept-Encoding: gzip) reads the same page.
    assert len(client.query(q.paginate(q.documents(q.collection(coll))))["data"]) == 50


def test_driver_echoes_the_txn_time(fauna, uid):
    rec = Recorder()
    client = fauna.client(observer=rec)
    client.query(q.create_collection({"name": f"echo_{uid}"}))
    created = client.query(q.create(q.collection(f"echo_{uid}"), {}))
    assert client.get_last_txn_time() == created["ts"]
    client.query(q.get(created["ref"]))
    assert rec.last.status_code == 200
    assert int(rec.last.response_headers["x-txn-time"]) >= created["ts"]


def test_query_tags_are_echoed(fauna):
    rec = Recorder()
    client = fauna.client(observer=rec)
    client.query(q.now(), tags={"team": "sync", "run": "7"})
    # The server folds the pairs from the right, so they come back reversed.
    assert rec.last.response_headers["x-fauna-tags"] == "run=7,team=sync"
