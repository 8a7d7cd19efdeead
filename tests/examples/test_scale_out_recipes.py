"""The scale-out recipes (issue 26): examples/scale-out/kubernetes-indexed-job.yaml validates
against the Kubernetes JSON schemas (kubernetes-validate, offline, strict) and
examples/scale-out/github-actions-scale-out.yml against GitHub's workflow schema
(check-jsonschema's vendored copy); then their actual command lines run here against fauna-dev:
the Jobs' container args (each shard's index from JOB_COMPLETION_INDEX, the pods at once), and
the workflow's `run:` steps, each job in a directory of its own as on separate machines, all
writing to one S3 bucket (moto) as the recipes do. Each joined output passes `verify` and holds
every document of the collections exactly once. The validators and moto are in .venv-moto
(tests/object_store/requirements-moto.txt)."""

import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from faunadb import query as q

import fauna_dev_process
from fauna_dev_process import ROOT, binary

RECIPES = ROOT / "examples" / "scale-out"
JOB = RECIPES / "kubernetes-indexed-job.yaml"
WORKFLOW = RECIPES / "github-actions-scale-out.yml"
SECRET = "fnScaleOutRecipes"


def _tool(name):
    moto = os.environ.get("MOTO_SERVER_BIN")
    venv_bin = Path(moto).parent if moto else ROOT / ".venv-moto" / "bin"
    tool = venv_bin / name
    if not tool.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} not found at {tool} (CI=true): run scripts/venv-moto")
        pytest.skip(f"{name} not found at {tool}; run scripts/venv-moto")
    return str(tool)


def _k8s(path):
    return subprocess.run([_tool("kubernetes-validate"), "--strict", "--quiet", str(path)],
                          capture_output=True, text=True, timeout=300)


def _gh(path):
    return subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, timeout=120)


def test_the_kubernetes_job_validates_and_the_check_can_fail(tmp_path):
    r = _k8s(JOB)
    assert r.returncode == 0, r.stdout + r.stderr
    docs = list(yaml.safe_load_all(JOB.read_text()))
    shards = next(d for d in docs if d["metadata"]["name"] == "fauna-sync-shards")["spec"]
    assert shards["completionMode"] == "Indexed" and shards["backoffLimitPerIndex"] >= 1
    broken = tmp_path / "broken.yaml"
    broken.write_text(JOB.read_text().replace("backoffLimitPerIndex: 3", "backoffLimitsPerIndex: 3"))
    r = _k8s(broken)
    assert r.returncode != 0, r.stdout + r.stderr


def test_the_workflow_validates_and_the_check_can_fail(tmp_path):
    r = _gh(WORKFLOW)
    assert r.returncode == 0 and r.stdout.strip() == "ok -- validation done", r.stdout + r.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("      matrix:\n        shard:", "      matrixes:\n        shard:"))
    r = _gh(broken)
    assert r.returncode == 1, r.stdout + r.stderr


@pytest.fixture(scope="module")
def moto():
    """An S3 server (moto) on a free port: its endpoint."""
    tool = _tool("moto_server")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([tool, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(endpoint, timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    yield endpoint
    proc.terminate()
    proc.wait(timeout=10)


def _bucket(endpoint, name):
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{name}", method="PUT"), timeout=10)


_DOWNLOAD = """
import sys, boto3
endpoint, bucket, prefix, dest = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test",
                  region_name="us-east-1")
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
    for o in page.get("Contents", []):
        rel = o["Key"][len(prefix) + 1:]
        path = dest + "/" + rel
        import os; os.makedirs(os.path.dirname(path), exist_ok=True)
        s3.download_file(bucket, o["Key"], path)
"""


def _download(endpoint, url, dest):
    """The objects below `url` (s3://bucket/prefix), downloaded with boto3 (in .venv-moto)."""
    bucket, prefix = url.removeprefix("s3://").split("/", 1)
    python = str(Path(_tool("moto_server")).parent / "python")
    subprocess.run([python, "-c", _DOWNLOAD, endpoint, bucket, prefix, str(dest)], check=True, timeout=120)
    return dest


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    dev = fauna_dev_process.FaunaDev(
        binary("FAUNA_DEV_BIN", "fauna-dev", "fauna-dev"),
        tmp_path_factory.mktemp("fauna-dev") / "fauna-dev.log",
        SECRET,
    )
    c = dev.client()
    for name in ("orders", "customers"):
        c.query(q.create_collection({"name": name}))
        c.query(q.create_index({"name": f"{name}_by_ts", "source": q.collection(name),
                                "values": [{"field": ["ts"]}, {"field": ["ref"]}]}))
    for i in range(1, 401):
        c.query(q.create(q.collection("orders"), {"data": {"n": i}}))
    for i in range(1, 61):  # custom ids
        c.query(q.create(q.ref(q.collection("customers"), str(i)), {"data": {"name": f"c{i}"}}))
    yield dev
    dev.stop()


def _config(server, text):
    """The recipe's fauna.json, pointed at fauna-dev, in small batches."""
    config = json.loads(text)
    config.update(domain=server.host, port=server.port, scheme="http")
    config.setdefault("output", {})["batch_rows"] = 37
    return json.dumps(config)


def _env(endpoint, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAUNA_", "RUST_LOG", "JOB_", "AWS_"))}
    env.update(FAUNA_SECRET=SECRET, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_ENDPOINT_URL=endpoint, AWS_ALLOW_HTTP="true")
    env.update(extra)
    return env


def _assert_joined(server, endpoint, url, sync_bin):
    """The joined output at `url` (s3://bucket/prefix) verifies and holds each document once."""
    r = subprocess.run([str(sync_bin), "verify", "--out", url], env=_env(endpoint),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = _download(endpoint, url, Path(tempfile.mkdtemp()))
    c = server.client()
    manifest = [json.loads(line) for line in (out / "_manifest.jsonl").read_text().splitlines()]
    for name in ("orders", "customers"):
        want = sorted(r.id() for r in c.query(q.select("data", q.paginate(q.documents(q.collection(name)), size=1000))))
        got = sorted(ref for e in manifest if e["stream"] == name
                     for ref in pq.read_table(out / e["file"]).column("ref").to_pylist())
        assert got == want, (name, len(got), len(want))
    assert (out / "_shards.d" / "1" / "_shard.json").exists()
    state = json.loads((out / "_state.json").read_text())
    assert {s["position"]["at"] for s in state["streams"].values()} == {"done"}


def test_the_kubernetes_jobs_command_lines_run_here(server, moto, tmp_path):
    sync_bin = binary("FAUNA_SYNC_BIN", "fauna-sync", "fauna-sync")
    docs = {d["metadata"]["name"]: d for d in yaml.safe_load_all(JOB.read_text())}
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "fauna.json").write_text(_config(server, docs["fauna-sync"]["data"]["fauna.json"]))
    _bucket(moto, "my-bucket")

    def args(job):
        container = docs[job]["spec"]["template"]["spec"]["containers"][0]
        secrets = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
        assert secrets["FAUNA_SECRET"] == {"name": "fauna-sync", "key": "secret"}
        assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(secrets)
        return [str(sync_bin)] + [a.replace("/config", str(tmp_path / "config")) for a in container["args"]]

    r = subprocess.run(args("fauna-sync-plan"), env=_env(moto), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    completions = docs["fauna-sync-shards"]["spec"]["completions"]
    pods = [subprocess.Popen(args("fauna-sync-shards"), env=_env(moto, JOB_COMPLETION_INDEX=str(i)),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in range(completions)]
    for pod in pods:
        _, err = pod.communicate(timeout=300)
        assert pod.returncode == 0, err
    r = subprocess.run(args("fauna-sync-finalize"), env=_env(moto), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    _assert_joined(server, moto, "s3://my-bucket/fauna", sync_bin)


def _runs(job):
    """The `run:` commands of a workflow job's steps, by step name."""
    return {s.get("name", ""): s["run"] for s in job["steps"] if "run" in s}


def test_the_workflows_command_lines_run_here_job_by_job(server, moto, tmp_path):
    sync_bin = binary("FAUNA_SYNC_BIN", "fauna-sync", "fauna-sync")
    flow = yaml.safe_load(WORKFLOW.read_text())
    jobs = flow["jobs"]
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "OUT"} <= set(flow["env"])
    config = _config(server, (RECIPES / "kubernetes-indexed-job.yaml").read_text().split("fauna.json: |", 1)[1]
                     .split("---", 1)[0])
    path = f"{sync_bin.parent}:{os.environ['PATH']}"
    _bucket(moto, "workflow")
    out = "s3://workflow/fauna"

    def machine(name):
        d = tmp_path / name
        d.mkdir()
        (d / "fauna.json").write_text(config)
        return d

    def run(cmd, cwd, **env):
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", cmd], cwd=cwd,
                           env=_env(moto, PATH=path, OUT=out, **env),
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"{cmd}\n{r.stderr}"

    run(_runs(jobs["plan"])["Plan"], machine("plan"))
    assert jobs["shard"]["strategy"]["fail-fast"] is False
    for i in jobs["shard"]["strategy"]["matrix"]["shard"]:  # each on a machine of its own
        run(_runs(jobs["shard"])["Shard"].replace("${{ matrix.shard }}", str(i)), machine(f"shard-{i}"))
    fin = machine("finalize")
    steps = _runs(jobs["finalize"])
    for name in ("Finalize", "Verify"):
        run(steps[name], fin)
    _assert_joined(server, moto, out, sync_bin)
