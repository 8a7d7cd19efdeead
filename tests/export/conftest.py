"""Fixtures for judging `fauna-sync export` with the official Python driver.

One fauna-dev instance per session (free port, killed at teardown) is filled with the official
`faunadb` driver; the same documents are read back with the driver (Paginate(Documents()) + Get)
and their raw wire JSON feeds the independent mapping in mapping.py. Binaries: `FAUNA_DEV_BIN`
and `FAUNA_SYNC_BIN`, else built with cargo into `${CARGO_TARGET_DIR:-<repo>/target}/debug`.
"""

import json
import os
import subprocess

import pytest
from faunadb import query as q
from faunadb.objects import Ref

import fauna_dev_process
import mapping
from fauna_dev_process import binary as _binary
from export_cases import ODD_NAME, ROOT_SECRET, VARIANTS



class FaunaDev(fauna_dev_process.FaunaDev):
    """fauna-dev with the export judge's root secret."""

    def __init__(self, binary, log_path):
        super().__init__(binary, log_path, ROOT_SECRET)


# --------------------------------------------------------------------------------------------
# The dataset, written with the driver



def _things(client, key_ref):
    """(id or None, data or None) of the every-type collection `things`, in creation order."""
    other = lambda i: q.ref(q.collection("other"), i)  # noqa: E731
    child = Ref("child", Ref("databases"))
    return [
        ("1", {
            "empty": "",
            "plain": "hello",
            "unicode": "héllo wörld 😀 中文",
            "escapes": "tab\t nl\n cr\r quote\" bs\\ slash/ ctrl\u0001\u001f nul\u0000 del\x7f sep\u2028",
            "looks_tagged": "@ref",
            "nan_string": "NaN",
            "inf_string": "-Infinity",
        }),
        ("25", {
            "zero": 0, "one": 1, "neg": -42, "max": 2**63 - 1, "min": -(2**63),
            "above_2_53": 2**53 + 1,
        }),
        ("300", {
            "half": 3.5, "tenth": 0.1, "e10": 1e10, "neg": -2.25, "neg_zero": -0.0, "zero": 0.0,
            "huge": 1e300, "tiny": 5e-324, "e16": 1e16, "frac": 123456789.125, "third": 1 / 3,
            "max": 1.7976931348623157e308, "whole": 2.0,
        }),
        (None, {
            "t": True, "f": False, "nulls": [None, 1, None],
            "nested": {"a": {"b": {"c": [1, [2, [3, {"d": "deep"}]]]}}},
            "empty_obj": {}, "empty_arr": [], "arr_of_empty": [{}, []],
            "mixed": [1, 2.5, "x", True, None, {}, []],
        }),
        (None, {
            "doc": other("7"), "doc2": other("123"), "same": q.ref(q.collection("things"), "1"),
            "coll": q.collection("other"), "idx": q.index("things_all"), "role": q.role("r1"),
            "fn": Ref("fn1", Ref("functions")), "db": child,
            "all_colls": q.collections(), "all_idx": q.indexes(), "all_keys": q.keys(),
            "key": key_ref, "token": Ref("11", Ref("tokens")), "cred": Ref("12", Ref("credentials")),
            "ap": Ref("ap1", Ref("access_providers")),
            "scoped_coll": Ref("x", Ref("collections"), child),
            "scoped_idx": Ref("y", Ref("indexes"), child),
            "scoped_doc": Ref("9", Ref("x", Ref("collections"), child)),
            "unknown_native": Ref("1", Ref("weird")),
            "below_doc": Ref("3", Ref("7", Ref("other", Ref("collections")))),
            "in_array": [other("7"), q.collection("things"), {"deep": other("123")}],
        }),
        (None, {
            "ns": q.time("2022-07-18T23:58:03.123456789Z"),
            "us": q.time("2022-07-18T23:58:03.123456Z"),
            "ms": q.time("2022-07-18T23:58:03.585Z"),
            "half": q.time("2022-07-18T23:58:03.5Z"),
            "whole": q.time("2022-07-18T23:58:03Z"),
            "offset": q.time("2022-07-19T01:58:03.1+02:00"),
            "epoch": q.time("1970-01-01T00:00:00Z"),
            "pre_epoch": q.time("1969-12-31T23:59:59.999999999Z"),
            "year1": q.time("0001-01-01T00:00:00Z"),
            "one_ns": q.time("2022-07-18T23:58:03.000000001Z"),
            "after_9999": q.time("+10000-01-01T00:00:00Z"),
            "before_year0": q.time("-0001-01-01T00:00:00.010Z"),
            "far": q.time("9999-12-31T23:59:59.999999999Z"),
            "dates": [q.date("2012-02-01"), q.date("0001-01-01"), q.date("9999-12-31"),
                      q.date("2024-02-29")],
        }),
        (None, {
            "hello": bytearray(b"hello world"), "urlsafe": bytearray(b"\xfb\xff\xbf"),
            "pad2": bytearray(b"a"), "pad1": bytearray(b"ab"), "empty": bytearray(b""),
            "all": bytearray(range(256)),
        }),
        (None, {
            "identity": q.query(q.lambda_("x", q.var("x"))),
            "fn2": q.query(q.lambda_(["x", "y"], q.if_(
                q.equals(q.var("x"), 2.5),
                q.format("%s é\n", q.var("y")),
                q.select(["k"], {"k": 1e10, "r": q.collection("other")})))),
            "set": q.match(q.index("things_all")),
            "set_terms": q.match(q.index("things_all"), ["é", 1.5, q.date("2012-02-01")]),
            "docs": q.documents(q.collection("other")),
        }),
        (None, {
            # (keys named like tags the Python driver's decoder would choke on are left out)
            "@odd": {"@name": "John", "plain": {"@set": "not a set", "n": 1}},
            "@id": "a string", "@@": {"@foo": []}, "arr": [{"@bar": {"@baz": {}}}],
            "inner": {"@set": 1, "@query": [{"@query": "x", "@": 2}]},
        }),
        (None, {"only": 1}),  # few fields
        (None, None),  # no data at all
        (None, {}),  # empty data
    ]


def _typed():
    """Documents of `typed`, uniform types per field, with optional fields left out."""
    other = lambda i: q.ref(q.collection("other"), i)  # noqa: E731
    full = {
        "req": "r0", "s": "héllo", "n": 12, "x": 2.5, "flag": True, "owner": other("7"),
        "nested": {"value": 15, "@k": "at"}, "tags": ["a", 1, {"b": None}, []],
        "when": q.time("2022-07-18T23:58:03.585Z"), "born": q.date("2012-02-01"),
        "blob": bytearray(b"\xfb\xff"), "fn": q.query(q.lambda_("x", q.var("x"))),
    }
    docs = [full]
    for i, drop in enumerate(
        [["s"], ["n", "x"], ["flag", "owner"], ["nested"], ["tags", "when", "born", "blob", "fn"]],
        start=1,
    ):
        docs.append({k: v for k, v in full.items() if k not in drop} | {"req": f"r{i}"})
    docs += [
        {"req": "r6", "n": -(2**63), "x": 7, "flag": False, "owner": other("123"),
         "nested": {"value": 2**63 - 1}, "tags": [], "s": ""},
        {"req": "r7", "n": 0, "x": -0.0, "s": "x\ny", "when": q.time("1969-12-31T23:59:59.000001Z"),
         "nested": {}},
        {"req": "r8", "x": 9007199254740993, "owner": q.ref(q.collection("typed"), "1")},
        {"req": "r9"},
    ]
    return docs


class Dataset:
    """What the driver wrote and read back: per collection the decoded wire documents."""

    def __init__(self, server):
        self.server = server
        self.docs = {}  # collection -> [decoded wire document] in Paginate(Documents()) order
        self.driver_docs = {}  # collection -> [document as the driver decoded it]


def _seed(server):
    c = server.client()
    for name in ["other", "things", "typed", "gappy", ODD_NAME, "empty"]:
        c.query(q.create_collection({"name": name, "history_days": None}))
    c.query(q.create_index({"name": "things_all", "source": q.collection("things")}))
    c.query(q.create_role({"name": "r1", "privileges": []}))
    key_ref = c.query(q.create_key({"role": "server"}))["ref"]
    for i in ["7", "123"]:
        c.query(q.create(q.ref(q.collection("other"), i), {"data": {"name": f"other {i}"}}))
    for doc_id, data in _things(c, key_ref):
        target = q.ref(q.collection("things"), doc_id) if doc_id else q.collection("things")
        c.query(q.create(target, {} if data is None else {"data": data}))
    for i, data in enumerate(_typed()):
        params = {"data": data}
        if i in (0, 8):
            params["ttl"] = q.time(f"209{i}-01-01T00:00:00Z")
        c.query(q.create(q.ref(q.collection("typed"), str(i + 1)), params))
    for i in range(1, 6):
        data = {"req": f"g{i}", "n": i} if i != 4 else {"n": i}  # document 4 lacks data.req
        c.query(q.create(q.ref(q.collection("gappy"), str(i)), {"data": data}))
    c.query(q.create(q.collection(ODD_NAME), {"data": {"k": "first"}}))
    c.query(q.create(q.collection(ODD_NAME), {"data": {"k": "second", "n": 2}}))


def _read_back(server):
    """Every collection's documents via Paginate(Documents()) + Get, as raw wire JSON too."""
    seen = {}
    c = server.client(observer=lambda r: seen.__setitem__("last", r))
    ds = Dataset(server)
    names, after = [], None
    while True:
        page = c.query(q.paginate(q.collections(), size=2, after=after))
        names += [r.id() for r in page["data"]]
        if "after" not in page:
            break
        after = page["after"]
    for name in names:
        refs, after = [], None
        while True:
            page = c.query(q.paginate(q.documents(q.collection(name)), size=3, after=after))
            refs += page["data"]
            if "after" not in page:
                break
            after = page["after"]
        ds.docs[name], ds.driver_docs[name] = [], []
        for ref in refs:
            ds.driver_docs[name].append(c.query(q.get(ref)))
            wire = mapping.parse_wire(seen["last"].response_raw)["resource"]
            ds.docs[name].append(mapping.decode(wire))
    return ds


@pytest.fixture(scope="session")
def fauna_sync_bin():
    return _binary("FAUNA_SYNC_BIN", "fauna-sync", "fauna-sync")


@pytest.fixture(scope="session")
def fauna_dev(tmp_path_factory):
    binary = _binary("FAUNA_DEV_BIN", "fauna-dev", "fauna-dev")
    server = FaunaDev(binary, tmp_path_factory.mktemp("fauna-dev") / "fauna-dev.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dataset(fauna_dev):
    _seed(fauna_dev)
    return _read_back(fauna_dev)


class Run:
    """One finished `fauna-sync export`."""

    def __init__(self, out, proc):
        self.out, self.proc = out, proc
        self.returncode, self.stdout, self.stderr = proc.returncode, proc.stdout, proc.stderr

    def manifest(self):
        text = (self.out / "_manifest.jsonl").read_text()
        return [json.loads(line) for line in text.splitlines()]

    def state(self):
        return json.loads((self.out / "_state.json").read_text())

    def files(self):
        """Every file below the output root, root-relative, sorted."""
        return sorted(
            p.relative_to(self.out).as_posix() for p in self.out.rglob("*") if p.is_file()
        )


@pytest.fixture(scope="session")
def export(fauna_sync_bin, fauna_dev, dataset, tmp_path_factory):
    """Runs `fauna-sync export --config <config> [args]` into a fresh directory."""

    def run(config, *args, name="export", out=None):
        base = tmp_path_factory.mktemp(name)
        out = out or base / "out"
        cfg = {
            "domain": fauna_dev.host, "port": fauna_dev.port, "scheme": "http",
            **config,
            "output": {"dir": str(out), **config.get("output", {})},
        }
        cfg_path = base / "config.json"
        cfg_path.write_text(json.dumps(cfg, ensure_ascii=False))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FAUNA_", "RUST_LOG"))}
        env["FAUNA_SECRET"] = ROOT_SECRET
        proc = subprocess.run(
            [str(fauna_sync_bin), "export", "--config", str(cfg_path), *args],
            env=env, capture_output=True, text=True, timeout=120,
        )
        return Run(out, proc)

    return run


@pytest.fixture(scope="session")
def runs(export):
    """The export variants shared by the tests, each run once (lazily)."""
    cache = {}

    def get(name):
        if name not in cache:
            config, args = VARIANTS[name]
            run = export(config, *args, name=name)
            assert run.returncode == 0, run.stderr
            cache[name] = run
        return cache[name]

    return get
