"""fauna-dev as a separate process for the Python suites (export, Airbyte): the binaries, a
server on a free port with a suite's own root secret, and the driver set up to make no outside
calls. A module of its own, on `pythonpath` (pytest.ini), so no suite imports another's conftest.
"""

import os
import queue
import subprocess
import threading
import warnings
from pathlib import Path

from faunadb.client import FaunaClient

ROOT = Path(__file__).resolve().parents[1]

# FaunaClient.__init__ asks pypi.org for a newer driver; the tests make no outside calls.
FaunaClient.check_new_version = lambda self: None
warnings.filterwarnings("ignore", message="Fauna is decommissioning FQL v4")


def binary(env, package, name):
    """`$env` if set, else `name` built with cargo into `${CARGO_TARGET_DIR:-<repo>/target}/debug`."""
    explicit = os.environ.get(env)
    if explicit:
        return Path(explicit)
    subprocess.run(
        ["cargo", "build", "--locked", "--quiet", "-p", package, "--bin", name],
        cwd=ROOT,
        check=True,
    )
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    return target / "debug" / name


class FaunaDev:
    """A running fauna-dev on a free port, with `root_secret` as its admin secret."""

    def __init__(self, binary, log_path, root_secret):
        self.root_secret = root_secret
        self.log_path = Path(log_path)
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [str(binary), "--port", "0", "--root-secret", root_secret],
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=ROOT,
        )
        lines = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.proc.stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=60).decode().strip()
        except queue.Empty:
            line = ""
        prefix = "fauna-dev listening on "
        if not line.startswith(prefix):
            self.stop()
            raise RuntimeError(f"fauna-dev did not start ({line!r}):\n{self.log_path.read_text()}")
        self.url = line[len(prefix):]
        self.host, port = self.url.split("://", 1)[1].rsplit(":", 1)
        self.port = int(port)

    def client(self, secret=None, observer=None):
        return FaunaClient(secret=secret or self.root_secret, domain=self.host, port=self.port,
                           scheme="http", observer=observer)

    def config(self, secret=None, **extra):
        """A source-fauna style config for this server."""
        return {"domain": self.host, "port": self.port, "scheme": "http",
                "secret": secret or self.root_secret, **extra}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
