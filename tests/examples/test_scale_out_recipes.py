"""The scale-out recipes (issue 26): examples/scale-out/kubernetes-indexed-job.yaml validates
against the Kubernetes JSON schemas (kubernetes-validate, offline, strict) and
examples/scale-out/github-actions-scale-out.yml against GitHub's workflow schema
(check-jsonschema's vendored copy); then their actual command lines run here against fauna-dev:
the Jobs' container args (each shard's index from JOB_COMPLETION_INDEX, the pods at once), and
the workflow's `run:` steps, each job in a directory of its own as on separate machines, with
the artifacts copied between them. Each joined output passes `verify` and holds every document
of the collections exactly once. Both tools are in .venv-moto (tests/object_store/
requirements-moto.txt)."""

import json
import os
import shutil
import subprocess
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


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAUNA_", "RUST_LOG", "JOB_"))}
    env["FAUNA_SECRET"] = SECRET
    env.update(extra)
    return env


def _assert_joined(server, out, sync_bin):
    r = subprocess.run([str(sync_bin), "verify", "--out", str(out)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    c = server.client()
    manifest = [json.loads(line) for line in (out / "_manifest.jsonl").read_text().splitlines()]
    for name in ("orders", "customers"):
        want = sorted(r.id() for r in c.query(q.select("data", q.paginate(q.documents(q.collection(name)), size=1000))))
        got = sorted(ref for e in manifest if e["stream"] == name
                     for ref in pq.read_table(out / e["file"]).column("ref").to_pylist())
        assert got == want, (name, len(got), len(want))
    state = json.loads((out / "_state.json").read_text())
    assert {s["position"]["at"] for s in state["streams"].values()} == {"done"}


def test_the_kubernetes_jobs_command_lines_run_here(server, tmp_path):
    sync_bin = binary("FAUNA_SYNC_BIN", "fauna-sync", "fauna-sync")
    docs = {d["metadata"]["name"]: d for d in yaml.safe_load_all(JOB.read_text())}
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "fauna.json").write_text(_config(server, docs["fauna-sync"]["data"]["fauna.json"]))

    def args(job):
        container = docs[job]["spec"]["template"]["spec"]["containers"][0]
        assert container["env"][0] == {"name": "FAUNA_SECRET",
                                       "valueFrom": {"secretKeyRef": {"name": "fauna-sync", "key": "secret"}}}
        return [str(sync_bin)] + [a.replace("/config", str(tmp_path / "config")).replace("/data", str(tmp_path / "data"))
                                  for a in container["args"]]

    r = subprocess.run(args("fauna-sync-plan"), env=_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    completions = docs["fauna-sync-shards"]["spec"]["completions"]
    pods = [subprocess.Popen(args("fauna-sync-shards"), env=_env(JOB_COMPLETION_INDEX=str(i)),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in range(completions)]
    for pod in pods:
        _, err = pod.communicate(timeout=300)
        assert pod.returncode == 0, err
    r = subprocess.run(args("fauna-sync-finalize"), env=_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    _assert_joined(server, tmp_path / "data" / "out", sync_bin)


def _runs(job):
    """The `run:` commands of a workflow job's steps, by step name."""
    return {s.get("name", ""): s["run"] for s in job["steps"] if "run" in s}


def test_the_workflows_command_lines_run_here_job_by_job(server, tmp_path):
    sync_bin = binary("FAUNA_SYNC_BIN", "fauna-sync", "fauna-sync")
    flow = yaml.safe_load(WORKFLOW.read_text())
    jobs = flow["jobs"]
    config = _config(server, (RECIPES / "kubernetes-indexed-job.yaml").read_text().split("fauna.json: |", 1)[1]
                     .split("---", 1)[0])
    path = f"{sync_bin.parent}:{os.environ['PATH']}"

    def machine(name):
        d = tmp_path / name
        d.mkdir()
        (d / "fauna.json").write_text(config)
        return d

    def run(cmd, cwd, **env):
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", cmd], cwd=cwd, env=_env(PATH=path, **env),
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"{cmd}\n{r.stderr}"

    plan = machine("plan")
    run(_runs(jobs["plan"])["Plan"], plan)
    shards = jobs["shard"]["strategy"]["matrix"]["shard"]
    assert jobs["shard"]["strategy"]["fail-fast"] is False
    parts = {}
    for i in shards:
        m = machine(f"shard-{i}")
        (m / "out").mkdir()
        shutil.copy(plan / "out" / "_plan.json", m / "out")  # download-artifact: plan
        run(_runs(jobs["shard"])["Shard"].replace("${{ matrix.shard }}", str(i)), m)
        parts[i] = m / "out" / "_shards.d" / str(i)  # upload-artifact: shard-<i>
    fin = machine("finalize")
    (fin / "out" / "_shards.d").mkdir(parents=True)
    shutil.copy(plan / "out" / "_plan.json", fin / "out")
    for i, part in parts.items():  # download-artifact pattern shard-*: one directory each
        shutil.copytree(part, fin / "out" / "_shards.d" / f"shard-{i}")
    steps = _runs(jobs["finalize"])
    for name in ("Name the shard directories by number", "Finalize", "Verify"):
        run(steps[name], fin)
    _assert_joined(server, fin / "out", sync_bin)
