"""Validation of fauna-sync's stdout against the pinned `airbyte-protocol-models`.

Every line must be one JSON `AirbyteMessage` that the models accept *without coercion*: the
model's own serialization of the parsed message equals the line's JSON (pydantic v1 would
silently turn `"emitted_at": 1.5` into `1`, which PyAirbyte then drops), and RECORD
`emitted_at` must be an integer.
"""

import json

from airbyte_protocol.models import AirbyteMessage


def _strip_nulls(value):
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def validate_line(line):
    """Parses one stdout line; raises AssertionError when it is not a protocol message."""
    raw = json.loads(line)
    assert isinstance(raw, dict), f"not a JSON object: {line!r}"
    model = AirbyteMessage.parse_obj(raw)
    echoed = json.loads(model.json(exclude_unset=True, by_alias=True))
    assert _strip_nulls(echoed) == _strip_nulls(raw), f"the models coerced {line!r} into {echoed!r}"
    if raw["type"] == "RECORD":
        assert type(raw["record"]["emitted_at"]) is int, line
    return raw


def validate_lines(stdout):
    """Every line of `stdout`, validated; no blank or partial lines."""
    assert stdout == "" or stdout.endswith("\n"), f"stdout does not end in a newline: {stdout[-80:]!r}"
    return [validate_line(line) for line in stdout.splitlines()]
