"""Documents whose data holds wire-tag names as keys (issue 15), through the Python driver.

The driver wraps every dict as {"object": …}. As on the real server (QueryParser's `object`
form, ext/model/src/main/scala/ast/Parser.scala), a tag key next to other keys is a field name,
while a dict whose only key is a tag is read as that tagged value; a lone tag key is written
through {"object": {"@obj": {…}}}. Responses escape every object holding an @-key with @obj
(reference §3.1). The driver's decoder takes any dict holding a tag name as that type
(innermost first, also inside @obj), so it cannot read these documents back faithfully; what
the server sends is checked on the raw responses.
"""

import json

from faunadb import query as q
from faunadb.errors import BadRequest

from helpers import Recorder, expect_error, raw

TAGS = ["@ref", "@obj", "@set", "@query", "@ts", "@date", "@bytes", "@uuid", "@weird"]

# Values the driver's decoder digests without raising (a string under "@ref" would make it
# index a string; "@date"/"@bytes" must parse), so every read returns normally.
VALUES = {
    "@ref": {"id": "r"},
    "@obj": "o",
    "@set": "s",
    "@query": "q",
    "@ts": "not a time",
    "@date": "2012-02-01",
    "@bytes": "AQID",
    "@uuid": "u",
    "@weird": "w",
}


def lone(tag, value):
    """An object whose only key is `tag`: {"object": {"@obj": {tag: value}}}."""
    return raw({"object": raw({"@obj": raw({tag: value})})})


def data_for(i, tag):
    v = VALUES[tag]
    return {tag: v, "n": i, "nested": {"deeper": {tag: v, "k": 1}}, "alone": lone(tag, v)}


def data_raw(i, tag):
    v = json.dumps(VALUES[tag], separators=(",", ":"))
    return (
        f'{{"@obj":{{"{tag}":{v},"n":{i},"nested":{{"deeper":{{"@obj":{{"{tag}":{v},"k":1}}}}}},'
        f'"alone":{{"@obj":{{"{tag}":{v}}}}}}}}}'
    )


def ref_raw(coll, doc_id):
    return (
        f'{{"@ref":{{"id":"{doc_id}","collection":{{"@ref":{{"id":"{coll}",'
        f'"collection":{{"@ref":{{"id":"collections"}}}}}}}}}}}}'
    )


def test_documents_with_tag_keys_are_created_read_and_paginated(fauna, uid):
    rec = Recorder()
    client = fauna.client(observer=rec)
    coll = f"tagkeys_{uid}"
    client.query(q.create_collection({"name": coll}))
    docs = []
    for i, tag in enumerate(TAGS, start=1):
        ref = q.ref(q.collection(coll), str(i))
        created = client.query(q.create(ref, {"data": data_for(i, tag)}))
        assert rec.last.status_code == 201
        doc = f'{{"ref":{ref_raw(coll, i)},"ts":{created["ts"]},"data":{data_raw(i, tag)}}}'
        assert rec.last.response_raw == f'{{"resource":{doc}}}'
        client.query(q.get(ref))
        assert rec.last.response_raw == f'{{"resource":{doc}}}'
        docs.append(doc)

    pages, after = [], None
    while True:
        page = client.query(
            q.map_(
                lambda r: q.get(r),
                q.paginate(q.documents(q.collection(coll)), size=4, after=after),
            )
        )
        pages.append(rec.last.response_raw)
        if "after" not in page:
            break
        after = page["after"]
    assert len(pages) == 3
    for n, page_raw in enumerate(pages):
        assert page_raw.startswith('{"resource":{'), page_raw
        assert f'"data":[{",".join(docs[4 * n:4 * n + 4])}]' in page_raw

    # Select reads under tag-like keys; a lone-tag object comes back escaped.
    client.query(q.select(["data", "alone"], q.get(q.ref(q.collection(coll), "5"))))
    assert rec.last.response_raw == '{"resource":{"@obj":{"@ts":"not a time"}}}'


def test_a_lone_tag_in_a_driver_dict_is_the_tagged_value_as_on_the_real_server(client, uid):
    coll = f"tagkeys_err_{uid}"
    client.query(q.create_collection({"name": coll}))
    # The issue's query: {"object":{"@ts":"not a time"}} is a malformed @ts.
    expect_error(
        lambda: client.query(
            q.create(q.collection(coll), {"data": {"@weird": {"@ts": "not a time"}}})
        ),
        BadRequest, 400, "invalid expression", "Invalid time.",
        ["params", "object", "data", "object", "@weird", "object"],
    )
    # A well-formed one is a Date, not an object.
    expect_error(
        lambda: client.query(q.create(q.collection(coll), {"data": {"@date": "2012-02-01"}})),
        BadRequest, 400, "invalid expression", "Object expected, Date provided.",
        ["params", "object", "data"],
    )
    assert client.query(q.count(q.documents(q.collection(coll)))) == 0
