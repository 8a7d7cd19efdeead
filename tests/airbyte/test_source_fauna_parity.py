"""fauna-sync's Airbyte records equal the ones Airbyte's Python source-fauna emitted.

Airbyte's source-fauna (PyPI `airbyte-source-fauna`, pinned in requirements-source-fauna.txt,
its own venv by scripts/venv-source-fauna, SOURCE_FAUNA_PYTHON) runs against fauna-dev loaded
with its example dataset (fixtures/source-fauna-example: its examples/setup_database.fql as wire
JSON, plus one document with the value kinds the example lacks). Both connectors get the same
config, catalog and state (the config names the collection, which 0.1.10 ignores, and adds its
`ttl` as an additional column). Their RECORD `data` must be equal on every field: the only fields
fauna-sync adds are Airbyte's CDC columns of streams with deletions tracked, checked exactly too.

source-fauna 0.1.10 emits its RECORDs and then exits 1 at its first STATE message (its CDK
refuses the LEGACY state it writes): asserted, so a fixed pin shows up here.
"""

import json
import os
import subprocess
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest
from faunadb import query as q
from jsonschema import Draft7Validator

from airbyte_support import ROOT, FaunaDev, _binary

FIXTURES = ROOT / "fixtures" / "source-fauna-example"
DELETIONS = {"deletion_mode": "deleted_field", "column": "deleted_at"}
CDC = ("_ab_cdc_updated_at", "_ab_cdc_deleted_at")


def source_fauna_python():
    explicit = os.environ.get("SOURCE_FAUNA_PYTHON")
    path = Path(explicit) if explicit else ROOT / ".venv-source-fauna" / "bin" / "python"
    if not path.exists():
        if explicit or os.environ.get("CI"):
            pytest.fail(f"source-fauna venv missing ({path}): scripts/test creates it with scripts/venv-source-fauna")
        pytest.skip(f"source-fauna venv missing ({path}); run scripts/venv-source-fauna")
    return path


def load(server, fixture):
    """Runs a fixture's wire-JSON queries in order with the admin secret; their results."""
    results = []
    for step in json.loads((FIXTURES / fixture).read_text())["queries"]:
        request = urllib.request.Request(server.url, data=json.dumps(step["wire"]).encode(), method="POST",
                                         headers={"Authorization": f"Bearer {server.root_secret}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            results.append(json.loads(response.read())["resource"])
    return results


class Dataset:
    """A fauna-dev holding the example dataset; `ids[a]` is the id of `foo`'s document with `data.a == a`."""

    def __init__(self, tmp_path_factory, name):
        binary = _binary("FAUNA_DEV_BIN", "fauna-dev", "fauna-dev")
        self.server = FaunaDev(binary, tmp_path_factory.mktemp(name) / "fauna-dev.log")
        setup = load(self.server, "setup_database.json")
        more = load(self.server, "more_values.json")
        self.example_ts = setup[3]["ts"]  # the Do creating foo's five documents
        self.more_ts = more[0]["ts"]
        self.other_ts = setup[2]["ts"]
        self.client = self.server.client()
        docs = self.client.query(q.map_(q.lambda_("r", q.get(q.var("r"))),
                                        q.paginate(q.documents(q.collection("foo")))))["data"]
        self.ids = {d["data"]["a"]: d["ref"].id() for d in docs}

    def config(self, name):
        """One config for both connectors: source-fauna 0.1.10 reads `page_size` and `deletions`
        and ignores the rest; `ttl` as an additional column gives fauna-sync its fields."""
        collection = {"name": name, "data_column": True, "page_size": 2, "deletions": DELETIONS,
                      "additional_columns": [{"name": "ttl", "path": ["ttl"], "type": "string",
                                              "format": "date-time", "required": False}]}
        if name == "foo":
            collection["index"] = "ts"
        return self.server.config(collection=collection)


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    d = Dataset(tmp_path_factory, "fauna-dev-source-fauna-example")
    yield d
    d.server.stop()


def catalog(name, mode):
    return {"streams": [{"stream": {"name": name, "json_schema": {"type": "object"},
                                    "supported_sync_modes": ["full_refresh", "incremental"]},
                         "sync_mode": mode, "destination_sync_mode": "append"}]}


# source-fauna's console script (`source_fauna.run:run`), with the driver's version check (a
# request to pypi.org in every FaunaClient()) turned off: the tests make no outside calls.
SOURCE_FAUNA_MAIN = (
    "from faunadb.client import FaunaClient\n"
    "FaunaClient.check_new_version = lambda self: None\n"
    "from source_fauna.run import run\n"
    "run()\n"
)


def run_source_fauna(tmp_path, config, catalog, state=None):
    """source-fauna's `read`; its RECORD `data`, in order."""
    argv = [str(source_fauna_python()), "-c", SOURCE_FAUNA_MAIN, "read"]
    for flag, value in [("--config", config), ("--catalog", catalog), ("--state", state)]:
        if value is not None:
            path = tmp_path / f"source-fauna{flag[1:]}.json"
            path.write_text(json.dumps(value))
            argv += [flag, str(path)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
                          env=dict(os.environ, DO_NOT_TRACK="1", NO_PROXY="127.0.0.1,localhost",
                                   # Anything else going out fails instead of leaving the machine.
                                   HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9"))
    messages = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    errors = [m["trace"]["error"]["internal_message"] for m in messages
              if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
    # Every read fails at its first STATE (the CDK's record counting wants per-stream state).
    assert proc.returncode == 1 and errors == [
        "State message was not in per-stream state format, which is required for record counts."
    ], proc.stdout[-2000:] + proc.stderr[-2000:]
    assert not [m for m in messages if m["type"] == "STATE"], "source-fauna got past a STATE message"
    return [m["record"]["data"] for m in messages if m["type"] == "RECORD"]


def run_fauna_sync(airbyte, config, catalog, state=None):
    """fauna-sync's `read`; its RECORD `data`, in order, each checked against the stream's
    discovered schema as CAT does (types, and no field the schema lacks)."""
    args = ["read", "--config", config, "--catalog", catalog] + (["--state", state] if state is not None else [])
    run = airbyte(*args)
    assert run.code == 0, run.stderr
    records = [m["record"]["data"] for m in run.messages if m["type"] == "RECORD"]
    (stream,) = catalog["streams"]
    (schema,) = [s["json_schema"] for s in airbyte("discover", "--config", config).messages[0]["catalog"]["streams"]
                 if s["name"] == stream["stream"]["name"]]
    for r in records:
        Draft7Validator(schema).validate(r)
        assert set(r) <= set(schema["properties"]), (r, schema)
    return records


def fauna_time(micros):
    """A `@ts` as Fauna renders it (Java's Instant.toString: the fraction in groups of three)."""
    t = datetime.fromtimestamp(micros // 1_000_000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    frac = micros % 1_000_000
    if frac == 0:
        return t + "Z"
    return t + (f".{frac // 1000:03d}" if frac % 1000 == 0 else f".{frac:06d}") + "Z"


def python_isoformat(micros):
    """What source-fauna wrote in the deletion column: `datetime.utcfromtimestamp(ts / 1e6).isoformat()`."""
    return datetime.fromtimestamp(micros / 1_000_000, timezone.utc).replace(tzinfo=None).isoformat()


def without_cdc(records):
    """fauna-sync's records without the CDC columns, after checking those exactly."""
    stripped = []
    for r in records:
        assert r[CDC[0]] == fauna_time(r["ts"]), r
        assert r[CDC[1]] == (fauna_time(r["ts"]) if "deleted_at" in r else None), r
        stripped.append({k: v for k, v in r.items() if k not in CDC})
    return stripped


def by_ref(records):
    return sorted(records, key=lambda r: (r["ref"], r["ts"]))


def test_full_refresh_records_are_the_documented_export_forms_and_equal_source_faunas(example, airbyte, tmp_path):
    config, cat = example.config("foo"), catalog("foo", "full_refresh")
    ours = run_fauna_sync(airbyte, config, cat)
    theirs = run_source_fauna(tmp_path, config, cat)
    assert by_ref(without_cdc(ours)) == by_ref(theirs)

    ids, ts = example.ids, example.example_ts

    def doc(a, value):
        return {"ref": ids[a], "ts": ts, "data": {"a": a, "nested": {"value": value}}, "ttl": None}

    assert by_ref(theirs) == by_ref([
        doc(5, 15), doc(6, 20), doc(7, 25), doc(8, 30),
        {"ref": ids[9], "ts": ts, "ttl": None, "data": {
            "a": 9, "nested": {"value": 30},
            "my-ref": {"id": "123", "collection": "other", "type": "document"},
            "string": "cat", "timestamp": fauna_time(ts), "number": 12, "date": "2012-02-01"}},
        {"ref": ids[10], "ts": example.more_ts, "ttl": None, "data": {
            "a": 10, "nested": {"value": 35},
            "blob": "aGVsbG8gd29ybGQ_Pz8-",
            "fn": '{"@query":{"api_version":"4","lambda":"x","expr":{"var":"x"}}}',
            "set": '{"@set":{"documents":{"@ref":{"id":"foo","collection":{"@ref":{"id":"collections"}}}}}}',
            "index": {"id": "ts", "type": "index"},
            "collection": {"id": "other", "type": "collection"},
            "collections": {"id": "collections", "type": "unknown"},
            "when": "2022-07-18T23:58:03.585Z",
            "whole_second": "2022-07-18T23:58:03Z",
            "list": ["2012-02-01", 1.5, None, True]}},
    ])


def test_source_faunas_own_config_unchanged_gives_its_records(example, airbyte, tmp_path):
    """A 0.1.10 config exactly as users saved it (a nameless `collection`: page size and
    deletions for every collection) works unchanged and yields source-fauna's fields, `ttl`
    included."""
    config = example.server.config(collection={"page_size": 2, "deletions": DELETIONS})
    assert "name" not in config["collection"] and "additional_columns" not in config["collection"]
    for name in ["foo", "other"]:
        cat = catalog(name, "full_refresh")
        ours = run_fauna_sync(airbyte, config, cat)
        theirs = run_source_fauna(tmp_path, config, cat)
        assert theirs and by_ref(without_cdc(ours)) == by_ref(theirs), name


def test_a_document_without_data_has_an_empty_data_object_as_in_source_fauna(example, airbyte, tmp_path):
    config, cat = example.config("other"), catalog("other", "full_refresh")
    ours = run_fauna_sync(airbyte, config, cat)
    theirs = run_source_fauna(tmp_path, config, cat)
    assert theirs == [{"ref": "123", "ts": example.other_ts, "data": {}, "ttl": None}]
    assert without_cdc(ours) == theirs


def test_incremental_from_source_faunas_legacy_state_with_deletions_equals_its_records(
        tmp_path_factory, airbyte, tmp_path):
    d = Dataset(tmp_path_factory, "fauna-dev-source-fauna-incremental")
    try:
        c, ids = d.client, d.ids
        # After every write of the dataset (both connectors read `ts >= since`).
        since = max(c.query(q.to_micros(q.now())), d.more_ts + 1)

        def at(expr):
            """Runs `expr`; the transaction's time (Now() in a write is the write's ts)."""
            return c.query(q.do(expr, q.to_micros(q.now())))

        gone5 = at(q.delete(q.ref(q.collection("foo"), ids[5])))
        gone6 = at(q.delete(q.ref(q.collection("foo"), ids[6])))
        updated7 = at(q.update(q.ref(q.collection("foo"), ids[7]), {"data": {"nested": {"value": 26}}}))
        created = c.query(q.create(q.collection("foo"), {"data": {"a": 11, "nested": {"value": 40}},
                                                         "ttl": q.time("2099-01-01T00:00:00Z")}))
        # source-fauna's LEGACY state after a sync that ended at `since`, as the platform passes it.
        state = {"foo": {"updates_cursor": {"ts": since}, "remove_cursor": {"ts": since}}}
        config, cat = d.config("foo"), catalog("foo", "incremental")

        theirs = run_source_fauna(tmp_path, config, cat, state)
        ours = run_fauna_sync(airbyte, config, cat, state)
        assert by_ref(without_cdc(ours)) == by_ref(theirs)
        assert by_ref(theirs) == by_ref([
            {"ref": ids[5], "ts": gone5, "deleted_at": python_isoformat(gone5)},
            {"ref": ids[6], "ts": gone6, "deleted_at": python_isoformat(gone6)},
            {"ref": ids[7], "ts": updated7, "data": {"a": 7, "nested": {"value": 26}}, "ttl": None},
            {"ref": created["ref"].id(), "ts": created["ts"], "data": {"a": 11, "nested": {"value": 40}},
             "ttl": "2099-01-01T00:00:00Z"},
        ])
    finally:
        d.server.stop()

