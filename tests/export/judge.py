"""Reading fauna-sync's output and computing what it should be (shared by the test modules)."""

import gzip
import hashlib
import json
import zlib

import pyarrow as pa

import mapping


def decompress(raw, fmt):
    if fmt in ("jsonl", "parquet"):
        return raw
    if fmt == "jsonl.gz":
        return gzip.decompress(raw)
    if fmt == "jsonl.zst":
        with pa.CompressedInputStream(pa.BufferReader(raw), "zstd") as stream:
            return stream.read()
    raise AssertionError(fmt)


def jsonl_lines(raw_text):
    """The records of one JSONL file; every line (the last included) ends with a newline."""
    assert raw_text.endswith("\n"), raw_text[-200:]
    lines = raw_text[:-1].split("\n")
    assert all(lines), "empty line in a JSONL file"
    return [json.loads(line) for line in lines]


def committed_records(run, stream):
    """[(manifest entry, [records])] of one stream, in manifest (seq) order; JSONL formats only."""
    out = []
    for entry in run.manifest():
        if entry["stream"] != stream:
            continue
        raw = (run.out / entry["file"]).read_bytes()
        text = decompress(raw, entry["format"]).decode("utf-8")
        out.append((entry, jsonl_lines(text)))
    return out


def all_records(run, stream):
    return [r for _, recs in committed_records(run, stream) for r in recs]


def expected_records(dataset, stream, **opts):
    return [mapping.record(doc, **opts) for doc in dataset.docs[stream]]


def assert_same_records(got, want):
    """Exact comparison: same length, and each record equal with types and key order."""
    assert [r.get("ref") for r in got] == [r["ref"] for r in want]
    for g, w in zip(got, want):
        assert mapping.canon(g) == mapping.canon(w), (g, w)


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def gzip_single_member(raw):
    d = zlib.decompressobj(wbits=31)
    d.decompress(raw)
    return d.eof and d.unused_data == b""


def zstd_frames(raw):
    """Walks zstd frames (RFC 8878); returns [(has_content_checksum)] and checks the framing."""
    frames, pos = [], 0
    while pos < len(raw):
        assert raw[pos:pos + 4] == b"\x28\xb5\x2f\xfd", "not a zstd frame"
        fhd = raw[pos + 4]
        pos += 5
        single_segment = bool(fhd & 0x20)
        checksum = bool(fhd & 0x04)
        pos += 0 if single_segment else 1  # window descriptor
        pos += [0, 1, 2, 4][fhd & 0x03]  # dictionary id
        pos += [1 if single_segment else 0, 2, 4, 8][fhd >> 6]  # frame content size
        while True:
            header = int.from_bytes(raw[pos:pos + 3], "little")
            pos += 3
            last, block_type, size = header & 1, (header >> 1) & 3, header >> 3
            assert block_type != 3, "reserved block type"
            pos += 1 if block_type == 1 else size
            if last:
                break
        pos += 4 if checksum else 0
        frames.append(checksum)
    assert pos == len(raw)
    return frames
