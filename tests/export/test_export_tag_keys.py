"""Documents whose data holds wire-tag names as keys (issue 15) export with the keys intact.

They are written with the official driver on a fauna-dev instance of their own: a tag key
next to other keys is a field name; a lone one goes through {"object": {"@obj": {…}}}, as on
the real server. The JSONL records and the Parquet `data` cells are compared with literal
expectations (spec/export-format.md forms: times as Instant strings, bytes url-safe base64,
document refs as {id, collection, type}, queries and sets as their wire JSON text).
"""

import json
import os
import subprocess

import pyarrow.parquet as pq
import pytest
from faunadb import query as q

import judge
import mapping
from export_cases import ROOT_SECRET
from fauna_dev_process import FaunaDev, binary as _binary

TAGS = ["@ref", "@obj", "@set", "@query", "@ts", "@date", "@bytes", "@uuid", "@weird"]
TIME = "2022-07-18T23:58:03.585Z"
DOC1_REF = {"id": "1", "collection": "tagged", "type": "document"}
QUERY_TEXT = '{"@query":{"api_version":"4","lambda":"x","expr":{"var":"x"}}}'
SET_TEXT = (
    '{"@set":{"documents":{"@ref":{"id":"tagged","collection":{"@ref":{"id":"collections"}}}}}}'
)


def raw(dct):
    return q._fn(dct)


def lone(tag, value):
    """An object whose only key is `tag`."""
    return raw({"object": raw({"@obj": raw({tag: value})})})


def typed_values():
    """(driver value, export form) of one value of each kind, keyed by the tag it sits under."""
    return {
        "@ref": (q.ref(q.collection("tagged"), "1"), DOC1_REF),
        "@obj": ({"@obj": 1, "k": [1]}, {"@obj": 1, "k": [1]}),
        "@set": (q.documents(q.collection("tagged")), SET_TEXT),
        "@query": (q.query(q.lambda_("x", q.var("x"))), QUERY_TEXT),
        "@ts": (q.time(TIME), TIME),
        "@date": (q.date("2012-02-01"), "2012-02-01"),
        "@bytes": (bytearray(b"\xfb\xff\x01"), "-_8B"),
        "@uuid": ("u", "u"),
        "@weird": (2.5, 2.5),
    }


def documents():
    """(data written with the driver, its expected export form) per document, ids 1…"""
    typed = typed_values()
    strings = {t: f"s{i}" for i, t in enumerate(TAGS)}
    return [
        # Every tag at the top, beside the others, holding strings.
        ({**strings, "n": 1}, {**strings, "n": 1}),
        # Typed values under tag keys, at the top and nested.
        (
            {**{t: v for t, (v, _) in typed.items()},
             "nested": {"deeper": {"@ts": "x", "@ref": {"id": "r"}, "k": 1}}},
            {**{t: e for t, (_, e) in typed.items()},
             "nested": {"deeper": {"@ts": "x", "@ref": {"id": "r"}, "k": 1}}},
        ),
        # Each tag alone in its object, nested.
        (
            {t: lone(t, v) for t, (v, _) in typed.items()},
            {t: {t: e} for t, (_, e) in typed.items()},
        ),
        # The data object itself holding one tag key.
        (lone("@ref", "just a string"), {"@ref": "just a string"}),
    ]


@pytest.fixture(scope="module")
def tagged(tmp_path_factory):
    """A fauna-dev with the `tagged` collection; yields (server, expected records)."""
    binary = _binary("FAUNA_DEV_BIN", "fauna-dev", "fauna-dev")
    server = FaunaDev(binary, tmp_path_factory.mktemp("fauna-dev-tags") / "fauna-dev.log", ROOT_SECRET)
    try:
        c = server.client()
        c.query(q.create_collection({"name": "tagged"}))
        records = []
        for i, (data, exported) in enumerate(documents(), start=1):
            # Only the ts comes back: the driver's decoder cannot read tag-named keys.
            ts = c.query(q.select(["ts"], q.create(q.ref(q.collection("tagged"), str(i)),
                                                    {"data": data})))
            records.append({"ref": str(i), "ts": ts, "data": exported})
        yield server, records
    finally:
        server.stop()


def export(fauna_sync_bin, server, tmp_path, fmt):
    out = tmp_path / fmt
    cfg = {"domain": server.host, "port": server.port, "scheme": "http",
           "output": {"dir": str(out), "format": fmt}}
    cfg_path = tmp_path / f"{fmt}.json"
    cfg_path.write_text(json.dumps(cfg))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAUNA_", "RUST_LOG"))}
    env["FAUNA_SECRET"] = ROOT_SECRET
    proc = subprocess.run([str(fauna_sync_bin), "export", "--config", str(cfg_path)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return out, [json.loads(line) for line in (out / "_manifest.jsonl").read_text().splitlines()]


class Run:
    """What judge.all_records reads: the output root and its manifest."""

    def __init__(self, out, manifest):
        self.out, self._manifest = out, manifest

    def manifest(self):
        return self._manifest


def test_jsonl_keeps_tag_named_keys(fauna_sync_bin, tagged, tmp_path):
    server, want = tagged
    out, manifest = export(fauna_sync_bin, server, tmp_path, "jsonl")
    got = judge.all_records(Run(out, manifest), "tagged")
    judge.assert_same_records(got, want)
    # The keys are written as they are, never @obj-escaped.
    text = "".join((out / e["file"]).read_text() for e in manifest if e["stream"] == "tagged")
    assert '"data":{"@ref":"just a string"}}' in text


def test_parquet_keeps_tag_named_keys(fauna_sync_bin, tagged, tmp_path):
    server, want = tagged
    out, manifest = export(fauna_sync_bin, server, tmp_path, "parquet")
    rows = []
    for e in manifest:
        if e["stream"] == "tagged":
            rows += pq.read_table(out / e["file"]).to_pylist()
    assert [(r["ref"], r["ts"]) for r in rows] == [(w["ref"], w["ts"]) for w in want]
    for row, w in zip(rows, want):
        assert mapping.canon(json.loads(row["data"])) == mapping.canon(w["data"]), row["ref"]
