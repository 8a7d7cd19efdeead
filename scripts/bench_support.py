"""Helpers shared by the benchmark commands (scripts/bench, scripts/bench-reconcile): release
builds (the `profiling` profile), fauna-dev on a free port, per-process CPU and peak memory."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def release_binaries():
    """Builds fauna-dev and fauna-sync with the `profiling` profile (release code with line
    tables and symbols, so perf can read a run); returns their paths."""
    subprocess.run(["cargo", "build", "--profile", "profiling", "--locked", "-q", "-p", "fauna-dev",
                    "-p", "fauna-sync", "--bin", "fauna-dev", "--bin", "fauna-sync"],
                   cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "profiling", "fauna-dev"), os.path.join(target, "profiling", "fauna-sync")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FaunaDev:
    """fauna-dev serving `dataset` on a free port until stop()."""

    def __init__(self, binary, dataset, *args):
        port = free_port()
        self.proc = subprocess.Popen([binary, "--port", str(port), "--dataset", dataset, *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if "listening" not in line:
            self.stop()
            sys.exit(f"fauna-dev did not start: {line!r}")
        self.url = f"http://127.0.0.1:{port}"

    def query(self, secret, expr):
        """POSTs an FQL v4 expression; returns the raw response body."""
        req = urllib.request.Request(self.url, data=json.dumps(expr).encode(), method="POST", headers={
            "Authorization": "Bearer " + secret, "X-FaunaDB-API-Version": "4"})
        with urllib.request.urlopen(req, timeout=600) as r:
            return r.read()

    def rss_mb(self):
        """fauna-dev's resident memory now (VmRSS), in MB."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def cpu_seconds(self):
        """fauna-dev's CPU time so far (user + system), in seconds."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def timed(cmd, env):
    """Runs cmd; returns (wall s, CPU s, peak RSS MB, stderr) of that process alone.

    The peak is the process's own high-water mark (VmHWM, sampled every 10 ms): rusage's
    ru_maxrss would also count the memory of this Python process that the child had between
    fork and exec."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         text=True)
    peak = [0]

    def sample():
        while p.returncode is None:
            try:
                with open(f"/proc/{p.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            peak[0] = max(peak[0], int(line.split()[1]))
            except OSError:
                return
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    sampler.join()
    wall = time.monotonic() - start
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, peak[0] / 1024, err
