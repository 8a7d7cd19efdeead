"""The Dockerfile follows Airbyte's connector-image conventions (it cannot be built here): its
entrypoint, `AIRBYTE_ENTRYPOINT` and `io.airbyte.*` labels agree, and the entrypoint command
itself, run with `spec`, prints a SPEC message."""

import json
import re
import shlex
import subprocess
import tomllib
from pathlib import Path

from airbyte_messages import validate_lines

ROOT = Path(__file__).resolve().parents[2]


def instructions():
    """(instruction, argument) of the final stage."""
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    lines = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]
    final = max(i for i, l in enumerate(lines) if l.upper().startswith("FROM "))
    return [tuple(l.split(None, 1)) for l in lines[final:]]


def all_instructions():
    """(instruction, argument) of every stage, in order."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]
    return [tuple(l.split(None, 1)) for l in lines]


def test_the_entrypoint_binary_is_the_one_the_build_stage_builds():
    ins = all_instructions()
    (entrypoint,) = [json.loads(arg) for op, arg in ins if op == "ENTRYPOINT"]
    # COPY --from=<build stage> /src/target/release/<bin> <entrypoint>
    (copy,) = [arg.split() for op, arg in instructions() if op == "COPY" and arg.startswith("--from=")]
    stage, source, dest = copy[0].split("=", 1)[1], copy[1], copy[2]
    assert dest == entrypoint[0]
    froms = [arg.split() for op, arg in ins if op == "FROM"]
    assert [f[-1] for f in froms if len(f) == 3 and f[1].upper() == "AS"] == [stage]
    (workdir,) = [arg for op, arg in ins[: next(i for i, (op, _) in enumerate(ins) if op == "FROM" and i > 0)]
                  if op == "WORKDIR"]
    builds = [shlex.split(arg) for op, arg in ins if op == "RUN" and arg.startswith("cargo build")]
    assert len(builds) == 1 and "--release" in builds[0] and "--locked" in builds[0]
    # The production build: no demo (fauna-dev) inside the connector image.
    assert "--no-default-features" in builds[0]
    binary = builds[0][builds[0].index("--bin") + 1]
    assert source == f"{workdir}/target/release/{binary}"
    # The test below runs this very binary (the one `cargo build` makes of this name).
    assert binary == "fauna-sync" and Path(entrypoint[0]).name == binary


def test_entrypoint_env_and_labels_agree():
    ins = instructions()
    entrypoints = [json.loads(arg) for op, arg in ins if op == "ENTRYPOINT"]
    assert len(entrypoints) == 1 and isinstance(entrypoints[0], list)
    envs = dict(shlex.split(arg)[0].split("=", 1) for op, arg in ins if op == "ENV")
    assert envs["AIRBYTE_ENTRYPOINT"] == " ".join(entrypoints[0])
    labels = dict(shlex.split(arg)[0].split("=", 1) for op, arg in ins if op == "LABEL")
    version = tomllib.loads((ROOT / "Cargo.toml").read_text())["package"]["version"]
    assert labels == {"io.airbyte.name": "airbyte/source-fauna-sync", "io.airbyte.version": version}
    copied = [arg.split()[-1] for op, arg in ins if op == "COPY"]
    assert entrypoints[0][0] in copied


def test_the_entrypoint_command_speaks_spec(fauna_sync_bin):
    (entrypoint,) = [json.loads(arg) for op, arg in instructions() if op == "ENTRYPOINT"]
    argv = [str(fauna_sync_bin), *entrypoint[1:], "spec"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert [m["type"] for m in validate_lines(proc.stdout)] == ["SPEC"]
