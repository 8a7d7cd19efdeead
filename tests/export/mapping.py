"""An independent implementation of the export mapping, for judging fauna-sync's output.

Written from ../shared/reference/export-formats.md, spec/export-format.md and
spec/output-layout.md only; it shares no code with fauna-sync. It works on the *wire* JSON the
server returned (the raw response body the driver received), so every tag is seen exactly as
Fauna rendered it: doubles keep their lexical form (a number with `.`, `e` or `E` is a double),
`@query`/`@set` contents keep their key order and number spelling.
"""

import base64
import datetime
import json
import re

# --------------------------------------------------------------------------------------------
# Wire JSON -> typed values


class WireDouble(str):
    """A double as spelled on the wire (e.g. `1.0E10`, `-0.0`)."""

    def value(self):
        return float(self)


class Ref:
    def __init__(self, id, collection=None, database=None):
        self.id, self.collection, self.database = id, collection, database

    def __repr__(self):
        return f"Ref({self.id!r}, {self.collection!r}, {self.database!r})"


class Ts:
    def __init__(self, text):
        self.text = text


class Date:
    def __init__(self, text):
        self.text = text


class Bytes:
    def __init__(self, raw):
        self.raw = raw


class Opaque:
    """`@query` / `@set`: the tag and its content as parsed wire JSON (key order kept)."""

    def __init__(self, tag, content):
        self.tag, self.content = tag, content


def parse_wire(text):
    """Parses a response body, keeping double spellings."""
    return json.loads(text, parse_float=WireDouble)


def decode(w):
    """Wire JSON (from parse_wire) -> Python values with Ref/Ts/Date/Bytes/Opaque."""
    if isinstance(w, list):
        return [decode(x) for x in w]
    if isinstance(w, dict):
        if len(w) == 1:
            (tag, inner), = w.items()
            if tag == "@ref":
                return Ref(
                    inner["id"],
                    decode(inner["collection"]) if "collection" in inner else None,
                    decode(inner["database"]) if "database" in inner else None,
                )
            if tag == "@ts":
                return Ts(inner)
            if tag == "@date":
                return Date(inner)
            if tag == "@bytes":
                std = inner.replace("-", "+").replace("_", "/")  # either alphabet
                return Bytes(base64.b64decode(std + "=" * (-len(std) % 4), validate=True))
            if tag in ("@query", "@set"):
                return Opaque(tag, inner)
            if tag == "@obj":
                return {k: decode(v) for k, v in inner.items()}
            assert not tag.startswith("@"), f"unknown wire tag {tag}"
        return {k: decode(v) for k, v in w.items()}
    return w


# --------------------------------------------------------------------------------------------
# Typed values -> export form

NATIVE_TYPES = {
    "collections": "collection",
    "databases": "database",
    "indexes": "index",
    "functions": "function",
    "roles": "role",
    "access_providers": "access_provider",
    "keys": "key",
    "tokens": "token",
    "credentials": "credential",
}


def _is_native_collection(r):
    return isinstance(r, Ref) and r.collection is None


def ref_export(r):
    coll = r.collection
    # A document ref: its collection is a user collection, i.e. Ref(name, Collections()).
    if (
        isinstance(coll, Ref)
        and isinstance(coll.collection, Ref)
        and coll.collection.collection is None
        and coll.collection.id == "collections"
    ):
        return {"id": r.id, "collection": coll.id, "type": "document"}
    if _is_native_collection(coll):
        return {"id": r.id, "type": NATIVE_TYPES.get(coll.id, "unknown")}
    # No collection (Collections() itself) or nested deeper than a document.
    return {"id": r.id, "type": "unknown"}


_TS = re.compile(r"^([+-]?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$")


def ts_export(text):
    """Re-renders a UTC timestamp like Java's Instant.toString(): seconds always, fraction only
    when non-zero in groups of 3 digits, years beyond 9999 with `+`, before year 0 with `-`."""
    m = _TS.match(text)
    assert m, f"unexpected wire timestamp {text!r}"
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    nanos = int((m.group(7) or "").ljust(9, "0"))
    if 1 <= y <= 9999:
        datetime.datetime(y, mo, d, h, mi, s)  # a valid date and time
    year = f"+{y}" if y > 9999 else f"-{-y:04d}" if y < 0 else f"{y:04d}"
    base = f"{year}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"
    if nanos == 0:
        return base + "Z"
    frac = f"{nanos:09d}"
    while frac.endswith("000"):
        frac = frac[:-3]
    return f"{base}.{frac}Z"


def export(v):
    """The export form of a typed value (spec/export-format.md)."""
    if v is None or isinstance(v, (bool, str)) and not isinstance(v, WireDouble):
        return v
    if isinstance(v, WireDouble):
        return v.value()
    if isinstance(v, int):
        return v
    if isinstance(v, list):
        return [export(x) for x in v]
    if isinstance(v, dict):
        return {k: export(x) for k, x in v.items()}
    if isinstance(v, Ref):
        return ref_export(v)
    if isinstance(v, Bytes):
        return base64.urlsafe_b64encode(v.raw).decode("ascii")
    if isinstance(v, Ts):
        return ts_export(v.text)
    if isinstance(v, Date):
        return v.text
    if isinstance(v, Opaque):
        return compact({v.tag: v.content})
    raise AssertionError(f"no export form for {v!r}")


def compact(j):
    """Compact JSON text (no spaces, key order kept, non-ASCII as is); wire doubles as spelled."""
    if j is None:
        return "null"
    if j is True:
        return "true"
    if j is False:
        return "false"
    if isinstance(j, WireDouble):
        return str.__str__(j)
    if isinstance(j, str):
        return json.dumps(j, ensure_ascii=False)
    if isinstance(j, int):
        return str(j)
    if isinstance(j, float):
        return repr(j)
    if isinstance(j, list):
        return "[" + ",".join(compact(x) for x in j) + "]"
    if isinstance(j, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + compact(x) for k, x in j.items()) + "}"
    raise AssertionError(f"not JSON: {j!r}")


# --------------------------------------------------------------------------------------------
# Records

MISSING = object()


def select(doc, path):
    """FQL Select from the top of the document; MISSING when the path does not exist."""
    cur = doc
    for key in path:
        if isinstance(cur, dict):
            if key not in cur:
                return MISSING
            cur = cur[key]
        elif isinstance(cur, Ref):
            nxt = {"id": cur.id, "collection": cur.collection, "database": cur.database}.get(key)
            if nxt is None:
                return MISSING
            cur = nxt
        else:
            return MISSING
    return cur


class RequiredPathMissing(Exception):
    pass


def record(doc, data_column=True, columns=(), deletion_column=None):
    """The export record (JSONL object, key order as written) of a decoded wire document."""
    rec = {"ref": doc["ref"].id, "ts": doc["ts"]}
    if data_column:
        rec["data"] = export(doc["data"]) if "data" in doc else None
    for col in columns:
        v = select(doc, col["path"])
        if v is MISSING:
            if col.get("required", True):
                raise RequiredPathMissing(col)
            rec[col["name"]] = None
        else:
            rec[col["name"]] = export(v)
    if deletion_column:
        rec[deletion_column] = None
        rec["deletion_detected"] = None  # spec/export-format.md: only deletions carry a value
    return rec


def parquet_cell(export_value, declared):
    """The Arrow value of an additional column (spec/output-layout.md §3.2) from its export form."""
    v = export_value
    if v is None:
        return None
    if declared == "string":
        return v if isinstance(v, str) else compact(v)
    if declared == "integer":
        assert isinstance(v, int) and not isinstance(v, bool), v
        return v
    if declared == "number":
        assert isinstance(v, (int, float)) and not isinstance(v, bool), v
        return float(v)
    if declared == "boolean":
        assert isinstance(v, bool), v
        return v
    if declared == "object":
        assert isinstance(v, dict), v
        return compact(v)
    if declared == "array":
        assert isinstance(v, list), v
        return compact(v)
    raise AssertionError(declared)


# --------------------------------------------------------------------------------------------
# Exact comparison


def canon(j):
    """A comparable form that tells ints from doubles, -0.0 from 0.0, and keeps key order."""
    if j is None:
        return ("null",)
    if isinstance(j, bool):
        return ("bool", j)
    if isinstance(j, int):
        return ("int", j)
    if isinstance(j, float):
        return ("double", j.hex())
    if isinstance(j, str):
        return ("str", j)
    if isinstance(j, list):
        return ("arr", [canon(x) for x in j])
    if isinstance(j, dict):
        return ("obj", [(k, canon(x)) for k, x in j.items()])
    raise AssertionError(f"not JSON: {j!r}")


def parse_line(line):
    """One JSONL line as Python JSON (doubles as float, integers as int)."""
    return json.loads(line)


# --------------------------------------------------------------------------------------------
# Layout


def stream_dir(name):
    """spec/output-layout.md §2."""
    out = []
    for b in name.encode("utf-8"):
        c = chr(b)
        if c.isascii() and (c.isalnum() or c in "_-"):
            out.append(c)
        else:
            out.append(f"%{b:02X}")
    return "".join(out)


EXT = {"jsonl": "jsonl", "jsonl.gz": "jsonl.gz", "jsonl.zst": "jsonl.zst", "parquet": "parquet"}


def part_name(seq, fmt):
    return f"part-{seq:08d}.{EXT[fmt]}"
