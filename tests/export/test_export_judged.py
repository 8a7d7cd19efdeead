"""`fauna-sync export` judged against documents written and read back with the official driver.

Expected records come from mapping.py, an independent implementation of the documented mapping
(../shared/reference/export-formats.md, spec/export-format.md); a few records are also written
out by hand below so that the mapping itself is anchored to the spec's examples.
"""

import datetime
import json
import re

import pytest
from faunadb import query as q
from faunadb.objects import FaunaTime, Query, Ref, SetRef

import judge
import mapping
from export_cases import BOOKKEEPING, LOCK_FILE, ODD_NAME, ROOT_SECRET, TYPED_COLUMNS

ALL_STREAMS = ["a.b/c é 50%", "empty", "gappy", "other", "things", "typed"]
JSONL_VARIANTS = ["jsonl", "jsonl_gzip", "jsonl_zstd", "typed_jsonl", "typed_data_jsonl"]
ALL_VARIANTS = JSONL_VARIANTS + ["parquet", "typed_parquet", "typed_data_parquet"]
FORMAT = {"jsonl": "jsonl", "jsonl_gzip": "jsonl.gz", "jsonl_zstd": "jsonl.zst", "parquet": "parquet",
          "typed_jsonl": "jsonl", "typed_data_jsonl": "jsonl", "typed_parquet": "parquet",
          "typed_data_parquet": "parquet"}


def _thing(dataset, key):
    """The driver-decoded `things` document whose data has `key`."""
    (doc,) = [d for d in dataset.driver_docs["things"] if key in d.get("data", {})]
    return doc


def test_the_fixture_holds_every_value_type(dataset):
    """The driver reads back every Fauna type the export has to map (so nothing was dropped)."""
    assert sorted(dataset.docs) == ALL_STREAMS
    d = lambda key: _thing(dataset, key)["data"]  # noqa: E731
    assert d("unicode")["escapes"].startswith("tab\t nl\n")
    assert d("above_2_53")["max"] == 2**63 - 1 and d("above_2_53")["min"] == -(2**63)
    assert isinstance(d("neg_zero")["half"], float) and str(d("neg_zero")["neg_zero"]) == "-0.0"
    assert d("t")["t"] is True and d("t")["nulls"] == [None, 1, None]
    assert d("empty_obj")["empty_obj"] == {} and d("empty_arr")["empty_arr"] == []
    refs = d("doc")
    assert isinstance(refs["doc"], Ref) and refs["doc"].collection().id() == "other"
    assert isinstance(refs["scoped_doc"].collection().database(), Ref)
    times = d("ns")
    assert isinstance(times["ns"], FaunaTime) and times["ns"].value == "2022-07-18T23:58:03.123456789Z"
    assert times["dates"][0] == datetime.date(2012, 2, 1)
    assert d("hello")["hello"] == bytearray(b"hello world") and d("all")["all"] == bytearray(range(256))
    qs = d("identity")
    assert isinstance(qs["identity"], Query) and isinstance(qs["set"], SetRef)
    assert set(d("@odd")) == {"@odd", "@id", "@@", "arr", "inner"}
    # Documents missing fields: only one field, no data at all, empty data.
    shapes = [sorted(doc) for doc in dataset.driver_docs["things"]]
    assert shapes.count(["ref", "ts"]) == 1 and shapes.count(["data", "ref", "ts"]) == 11
    assert [doc["data"] for doc in dataset.driver_docs["things"] if doc.get("data") in ({}, {"only": 1})] == [
        {"only": 1}, {}]


def test_documents_read_back_in_ref_id_order(dataset):
    """Paginate(Documents()) order is numeric id order: the documented export order."""
    for name, docs in dataset.docs.items():
        ids = [doc["ref"].id for doc in docs]
        assert ids == sorted(ids, key=int), name
    assert [d["ref"].id for d in dataset.docs["things"]][:3] == ["1", "25", "300"]
    assert len(dataset.docs["things"]) == 12 and len(dataset.docs["typed"]) == 10


def test_jsonl_every_collection_every_value_type(dataset, runs):
    """No collection named: every collection is exported, each record exactly as mapped."""
    run = runs("jsonl")
    assert sorted({e["stream"] for e in run.manifest()}) == [s for s in ALL_STREAMS if s != "empty"]
    for stream in ALL_STREAMS:
        judge.assert_same_records(
            judge.all_records(run, stream), judge.expected_records(dataset, stream)
        )


def test_jsonl_records_written_out_by_hand(dataset, runs):
    """Spot checks against literal values from the spec, independent of mapping.py."""
    by_key = {}
    for rec in judge.all_records(runs("jsonl"), "things"):
        for k in rec["data"] or {}:
            by_key.setdefault(k, rec)
    data = lambda key: by_key[key]["data"]  # noqa: E731
    assert by_key["plain"]["ref"] == "1" and data("plain")["unicode"] == "héllo wörld 😀 中文"
    assert data("plain")["nan_string"] == "NaN" and data("plain")["looks_tagged"] == "@ref"
    ints = data("above_2_53")
    assert (ints["max"], ints["min"], ints["above_2_53"]) == (2**63 - 1, -(2**63), 2**53 + 1)
    doubles = data("neg_zero")
    assert mapping.canon(doubles["e10"]) == mapping.canon(1e10)  # a double, not the integer
    assert mapping.canon(doubles["neg_zero"]) == mapping.canon(-0.0)
    assert mapping.canon(doubles["whole"]) == mapping.canon(2.0)
    assert doubles["tiny"] == 5e-324 and doubles["max"] == 1.7976931348623157e308
    assert data("t")["nested"] == {"a": {"b": {"c": [1, [2, [3, {"d": "deep"}]]]}}}
    assert data("t")["arr_of_empty"] == [{}, []]
    refs = data("doc")
    assert refs["doc"] == {"id": "7", "collection": "other", "type": "document"}
    assert list(refs["doc"]) == ["id", "collection", "type"]
    assert refs["same"] == {"id": "1", "collection": "things", "type": "document"}
    assert refs["coll"] == {"id": "other", "type": "collection"}
    assert refs["idx"] == {"id": "things_all", "type": "index"}
    assert refs["role"] == {"id": "r1", "type": "role"}
    assert refs["fn"] == {"id": "fn1", "type": "function"}
    assert refs["db"] == {"id": "child", "type": "database"}
    assert refs["all_colls"] == {"id": "collections", "type": "unknown"}
    assert refs["all_idx"] == {"id": "indexes", "type": "unknown"}
    assert refs["all_keys"] == {"id": "keys", "type": "unknown"}
    assert refs["key"]["type"] == "key" and list(refs["key"]) == ["id", "type"]
    assert refs["token"] == {"id": "11", "type": "token"}
    assert refs["cred"] == {"id": "12", "type": "credential"}
    assert refs["ap"] == {"id": "ap1", "type": "access_provider"}
    assert refs["scoped_coll"] == {"id": "x", "type": "collection"}  # database scope dropped
    assert refs["scoped_idx"] == {"id": "y", "type": "index"}
    assert refs["scoped_doc"] == {"id": "9", "collection": "x", "type": "document"}
    assert refs["unknown_native"] == {"id": "1", "type": "unknown"}
    assert refs["below_doc"] == {"id": "3", "type": "unknown"}
    assert refs["in_array"][2] == {"deep": {"id": "123", "collection": "other", "type": "document"}}
    times = data("ns")
    assert times["ns"] == "2022-07-18T23:58:03.123456789Z"
    assert times["us"] == "2022-07-18T23:58:03.123456Z"
    assert times["ms"] == "2022-07-18T23:58:03.585Z"
    assert times["half"] == "2022-07-18T23:58:03.500Z"
    assert times["whole"] == "2022-07-18T23:58:03Z"
    assert times["offset"] == "2022-07-18T23:58:03.100Z"
    assert times["epoch"] == "1970-01-01T00:00:00Z"
    assert times["pre_epoch"] == "1969-12-31T23:59:59.999999999Z"
    assert times["year1"] == "0001-01-01T00:00:00Z"
    assert times["one_ns"] == "2022-07-18T23:58:03.000000001Z"
    assert times["after_9999"] == "+10000-01-01T00:00:00Z"
    assert times["before_year0"] == "-0001-01-01T00:00:00.010Z"
    assert times["dates"] == ["2012-02-01", "0001-01-01", "9999-12-31", "2024-02-29"]
    blobs = data("hello")
    assert blobs["hello"] == "aGVsbG8gd29ybGQ="
    assert (blobs["urlsafe"], blobs["pad2"], blobs["pad1"], blobs["empty"]) == ("-_-_", "YQ==", "YWI=", "")
    assert "-" in blobs["all"] and "_" in blobs["all"] and "+" not in blobs["all"]
    queries = data("identity")
    assert queries["identity"] == '{"@query":{"api_version":"4","lambda":"x","expr":{"var":"x"}}}'
    assert queries["set"] == (
        '{"@set":{"match":{"@ref":{"id":"things_all","collection":{"@ref":{"id":"indexes"}}}}}}'
    )
    assert json.loads(queries["fn2"])["@query"]["expr"]["then"]["format"] == "%s é\n"
    assert json.loads(queries["set_terms"])["@set"]["terms"] == ["é", 1.5, {"@date": "2012-02-01"}]
    odd = data("@odd")
    assert odd == {"@odd": {"@name": "John", "plain": {"@set": "not a set", "n": 1}},
                   "@id": "a string", "@@": {"@foo": []}, "arr": [{"@bar": {"@baz": {}}}],
                   "inner": {"@set": 1, "@query": [{"@query": "x", "@": 2}]}}
    assert list(odd) == ["@odd", "@id", "@@", "arr", "inner"]  # key order kept
    recs = judge.all_records(runs("jsonl"), "things")
    assert [r["data"] for r in recs[-3:]] == [{"only": 1}, None, {}]  # no data -> null


def test_jsonl_batches_pages_and_directory_names(dataset, runs):
    """--batch-rows 4: files part-00000001… of 4 rows (last shorter) in escaped stream dirs."""
    run = runs("jsonl")
    assert mapping.stream_dir(ODD_NAME) == "a%2Eb%2Fc%20%C3%A9%2050%25"
    want_files = list(BOOKKEEPING)
    for stream in ALL_STREAMS:
        n = len(dataset.docs[stream])
        sizes = [4] * (n // 4) + ([n % 4] if n % 4 else [])
        got = judge.committed_records(run, stream)
        assert [(e["seq"], e["rows"], len(recs)) for e, recs in got] == [
            (i + 1, s, s) for i, s in enumerate(sizes)
        ]
        want_files += [f"{mapping.stream_dir(stream)}/{mapping.part_name(i + 1, 'jsonl')}"
                       for i in range(len(sizes))]
    assert run.files() == sorted(want_files)


def test_compressed_jsonl_holds_the_same_bytes(runs):
    """gzip: one member, mtime 0, OS 255; zstd: one frame with checksum; both = plain bytes."""
    plain, gz, zst = runs("jsonl"), runs("jsonl_gzip"), runs("jsonl_zstd")
    strip = lambda m: [(e["stream"], e["seq"], e["rows"], e["min_ts"], e["max_ts"]) for e in m]  # noqa: E731
    assert strip(gz.manifest()) == strip(plain.manifest()) == strip(zst.manifest())
    assert {e["format"] for e in gz.manifest()} == {"jsonl.gz"}
    assert {e["format"] for e in zst.manifest()} == {"jsonl.zst"}
    for p, g, z in zip(plain.manifest(), gz.manifest(), zst.manifest()):
        assert g["file"] == p["file"] + ".gz" and z["file"] == p["file"][: -len("jsonl")] + "jsonl.zst"
        raw = (plain.out / p["file"]).read_bytes()
        graw = (gz.out / g["file"]).read_bytes()
        zraw = (zst.out / z["file"]).read_bytes()
        assert graw[:4] == b"\x1f\x8b\x08\x00", graw[:10]  # deflate, no optional fields
        assert graw[4:8] == b"\x00\x00\x00\x00" and graw[9] == 255
        assert judge.gzip_single_member(graw)
        assert judge.decompress(graw, "jsonl.gz") == raw
        assert judge.zstd_frames(zraw) == [True]
        assert judge.decompress(zraw, "jsonl.zst") == raw


def test_additional_columns_without_the_data_column(dataset, runs):
    """data_column false: no `data` key; every declared column in order, optional ones null."""
    run = runs("typed_jsonl")
    got = judge.all_records(run, "typed")
    want = judge.expected_records(dataset, "typed", data_column=False, columns=TYPED_COLUMNS)
    judge.assert_same_records(got, want)
    names = ["ref", "ts"] + [c["name"] for c in TYPED_COLUMNS]
    assert all(list(r) == names for r in got)
    assert [e["rows"] for e in run.manifest()] == [5, 5]
    # Literal values (JSONL writes the export form, unchecked against the declared type).
    first = got[0]
    assert first["ts_copy"] == first["ts"] and first["doc_id"] == "1" and first["coll"] == "typed"
    assert first["ref_obj"] == {"id": "1", "collection": "typed", "type": "document"}
    assert (first["n"], first["n_text"], first["x"], first["flag"], first["flag_text"]) == (12, 12, 2.5, True, True)
    assert first["owner"] == {"id": "7", "collection": "other", "type": "document"}
    assert (first["owner_id"], first["owner_coll"]) == ("7", "other")
    assert first["owner_coll_ref"] == {"id": "other", "type": "collection"}
    assert first["nested"] == {"value": 15, "@k": "at"} and first["at_key"] == "at"
    assert first["tags"] == ["a", 1, {"b": None}, []] and first["when"] == "2022-07-18T23:58:03.585Z"
    assert (first["born"], first["blob"]) == ("2012-02-01", "-_8=")
    assert first["fn"] == '{"@query":{"api_version":"4","lambda":"x","expr":{"var":"x"}}}'
    assert first["missing"] is None and first["ttl"] == "2090-01-01T00:00:00Z"
    assert [r["ttl"] for r in got].count(None) == 8 and got[8]["ttl"] == "2098-01-01T00:00:00Z"
    last = got[-1]
    assert {k for k, v in last.items() if v is not None} == {"ref", "ts", "req", "doc_id", "coll", "ref_obj", "ts_copy"}
    assert sum(1 for r in got for v in r.values() if v is None) == 90  # optional paths left out
    assert mapping.canon(got[6]["x"]) == mapping.canon(7) and mapping.canon(got[7]["x"]) == mapping.canon(-0.0)
    assert got[8]["owner"] == {"id": "1", "collection": "typed", "type": "document"}


def test_additional_columns_with_data_and_deletion_column(dataset, runs):
    """Data on, the columns, then the configured deletion column and deletion_detected (null:
    nothing is deleted)."""
    got = judge.all_records(runs("typed_data_jsonl"), "typed")
    want = judge.expected_records(
        dataset, "typed", columns=TYPED_COLUMNS, deletion_column="gone_at"
    )
    judge.assert_same_records(got, want)
    assert all(list(r)[:3] == ["ref", "ts", "data"] and list(r)[-2:] == ["gone_at", "deletion_detected"]
               for r in got)


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_manifest_lists_exactly_the_committed_files(variant, runs):
    """Entries in commit order (each stream's block contiguous, seq 1, 2, … — a pinned export
    commits stream by stream), one per file on disk, with true rows, bytes, sha256 and ts
    range; exactly the state's committed length (spec/output-layout.md §5)."""
    run = runs(variant)
    manifest = run.manifest()
    text = (run.out / "_manifest.jsonl").read_text()
    assert text.endswith("\n") and len(text.splitlines()) == len(manifest)
    assert run.state()["manifest_len"] == len(text.encode())
    keys = [(e["stream"], e["seq"], e["file"]) for e in manifest]
    assert len(set(keys)) == len(keys)
    streams = [e["stream"] for e in manifest]
    blocks = [s for i, s in enumerate(streams) if i == 0 or streams[i - 1] != s]
    assert len(blocks) == len(set(blocks)), f"a stream's files are not contiguous: {streams}"
    for name in blocks:
        assert [e["seq"] for e in manifest if e["stream"] == name] == list(
            range(1, streams.count(name) + 1))
    # Streams that track deletions keep their id set beside the state (spec/state-format.md).
    id_sets = []
    for name, s in run.state()["streams"].items():
        if s["schema"]["deletion_column"]:
            gen = s["ids"]["generation"]
            id_sets.append(f"_state.json.ids/{name}.delta.{gen}")
            id_sets += [f"_state.json.ids/{name}.set.{gen}"] if gen else []
        else:
            assert "ids" not in s
    assert sorted([e["file"] for e in manifest] + BOOKKEEPING + id_sets) == run.files()
    for e in manifest:
        assert list(e) == ["file", "stream", "seq", "rows", "bytes", "sha256", "min_ts", "max_ts", "format"]
        path = run.out / e["file"]
        assert e["file"] == f"{mapping.stream_dir(e['stream'])}/{mapping.part_name(e['seq'], e['format'])}"
        assert e["bytes"] == path.stat().st_size
        assert e["sha256"] == judge.sha256(path) and re.fullmatch(r"[0-9a-f]{64}", e["sha256"])
        if e["format"] == "parquet":
            import pyarrow.parquet as pq

            ts = pq.read_table(path, columns=["ts"]).column("ts").to_pylist()
        else:
            ts = [r["ts"] for r in judge.jsonl_lines(judge.decompress(path.read_bytes(), e["format"]).decode())]
        assert (e["rows"], e["min_ts"], e["max_ts"]) == (len(ts), min(ts), max(ts))


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_state_file_says_done(variant, runs, dataset, fauna_dev):
    """_state.json (spec/state-format.md, version 2): one snapshot, done, next_seq and rows
    matching the manifest, which it owns (output_id, manifest_len) without listing files."""
    run = runs(variant)
    state = run.state()
    manifest = run.manifest()
    assert list(state) == ["version", "output_id", "manifest_len", "streams"]
    assert state["version"] == 2
    owner = json.loads((run.out / "_output.json").read_text())
    assert owner == {"output_id": state["output_id"]} and re.fullmatch(r"[0-9a-f]{32}", owner["output_id"])
    assert state["manifest_len"] == (run.out / "_manifest.jsonl").stat().st_size
    # Every exported collection has a stream, the empty one too (done, no files).
    assert sorted(state["streams"]) == (["typed"] if variant.startswith("typed") else ALL_STREAMS)
    snapshots = {s["snapshot_ts"] for s in state["streams"].values()}
    assert len(snapshots) == 1
    (snapshot,) = snapshots
    newest = max(doc["ts"] for docs in dataset.docs.values() for doc in docs)
    now = fauna_dev.client().query(q.to_micros(q.now()))
    assert newest <= snapshot <= now  # every document was written before the run
    for name, s in state["streams"].items():
        files = [e for e in manifest if e["stream"] == name]
        assert s["position"] == {"at": "done"} and "strategy" not in s  # pinned snapshot
        assert "files" not in s  # the manifest lists them; the state stays small
        tracked = ["detected_column"] if s["schema"]["deletion_column"] else []
        assert sorted(s["schema"]) == sorted(["columns", "data_column", "deletion_column"] + tracked)
        assert s["next_seq"] == len(files) + 1
        assert s["rows"] == sum(e["rows"] for e in files) == len(dataset.docs[name])
        assert s["format"] == FORMAT[variant] and {e["format"] for e in files} <= {FORMAT[variant]}
    assert ROOT_SECRET not in json.dumps(state)


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_missing_required_path_fails_naming_it(fmt, export, dataset):
    """Document 4 of `gappy` lacks data.req: exit 1, the error names the path, the document and
    the collection, and nothing of the failing batch (documents 3-4) is committed."""
    config = {"collection": {"name": "gappy", "page_size": 2, "additional_columns": [
        {"name": "req", "path": ["data", "req"], "type": "string", "required": True}]},
        "output": {"format": fmt, "batch_rows": 2}}
    run = export(config, name=f"gappy-{fmt}")
    assert run.returncode == 1, (run.returncode, run.stderr)
    assert re.search(r'\["data", ?"req"\]', run.stderr), run.stderr
    assert re.search(r"\bdocument 4\b", run.stderr) and "gappy" in run.stderr, run.stderr
    manifest = run.manifest() if (run.out / "_manifest.jsonl").exists() else []
    assert [e["seq"] for e in manifest] in ([], [1])  # at most the batch before the failure
    assert sorted(e["file"] for e in manifest) == [
        f for f in run.files() if f not in BOOKKEEPING
    ]  # no part-00000002.* and no temporary file either
    if manifest and fmt == "jsonl":
        want = judge.expected_records(dataset, "gappy")
        got = judge.all_records(run, "gappy")
        assert [r["ref"] for r in got] == ["1", "2"]
        assert [r["req"] for r in got] == ["g1", "g2"] and [r["data"] for r in got] == [
            w["data"] for w in want[:2]]
    if (run.out / "_state.json").exists():
        assert run.state()["streams"]["gappy"]["position"] != {"at": "done"}


def test_running_again_has_nothing_left_to_do(export, dataset):
    """The same command on a finished output exits 0 and changes nothing."""
    config = {"collection": {"name": "things"}, "output": {"batch_rows": 5}}
    first = export(config, name="again-1")
    assert first.returncode == 0, first.stderr
    # The lock file names its holder (pid, start time), so each run rewrites it; everything
    # else must stay byte for byte.
    kept = lambda: {f: (first.out / f).read_bytes() for f in first.files() if f != LOCK_FILE}
    before = kept()
    second = export(config, name="again-2", out=first.out)
    assert second.returncode == 0, second.stderr
    assert "exported 1 collection(s): 0 docs in 0 file(s)" in second.stderr, second.stderr
    assert "already complete" in second.stderr, second.stderr
    assert kept() == before and LOCK_FILE in first.files()
    judge.assert_same_records(judge.all_records(first, "things"), judge.expected_records(dataset, "things"))


def test_the_secret_is_never_written(export):
    """Even at trace level the secret is in no log line, output file, manifest or state."""
    run = export(TYPED_CFG_FOR_SECRET, "-vv", name="secret")
    assert run.returncode == 0, run.stderr
    assert "Batch committed" in run.stderr  # the logs were written
    assert ROOT_SECRET not in run.stdout + run.stderr
    for f in run.files():
        assert ROOT_SECRET.encode() not in (run.out / f).read_bytes(), f


TYPED_CFG_FOR_SECRET = {"collection": {"name": "typed", "additional_columns": TYPED_COLUMNS},
                        "output": {"format": "parquet"}}


@pytest.mark.parametrize("columns, named", [
    ([{"name": "ts", "path": ["data", "n"], "type": "integer"}], "ts"),
    ([{"name": "data", "path": ["data", "n"], "type": "integer"}], "data"),
    ([{"name": "ref", "path": ["data", "n"], "type": "integer"}], "ref"),
    ([{"name": "n", "path": ["data", "n"], "type": "integer"},
      {"name": "n", "path": ["data", "x"], "type": "number"}], "n"),
])
def test_reserved_or_duplicate_column_names_are_rejected_before_reading(columns, named, export):
    """Exit 2 naming the column, before any network call (the endpoint is a closed port)."""
    config = {"port": 1, "collection": {"name": "typed", "additional_columns": columns}}
    run = export(config, name="bad-config")
    assert run.returncode == 2, (run.returncode, run.stderr)
    assert re.search(rf"['`\"]{named}['`\"]", run.stderr), run.stderr
    assert "connect" not in run.stderr.lower(), run.stderr
    assert run.files() == []
