"""examples/crontab: cron runs its commands with PATH=/usr/bin:/bin, so every command of a
schedule line names fauna-sync by an absolute path (a bare name would not be found: a plain
`cargo install` puts it in ~/.cargo/bin)."""

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CRONTAB = ROOT / "examples" / "crontab"


def schedule_lines(text):
    """The lines that schedule a command (five time fields, then the command)."""
    lines = [l.strip() for l in text.splitlines()]
    return [l for l in lines if l and not l.startswith("#") and not re.match(r"^[A-Za-z_]+=", l)]


def commands(line):
    """The programs a schedule line runs: the first word of each command between && ; ||."""
    command = line.split(None, 5)[5]
    parts = re.split(r"&&|\|\||;", command)
    return [shlex.split(p)[0] for p in parts if p.strip()]


def test_every_command_names_fauna_sync_by_an_absolute_path():
    lines = schedule_lines(CRONTAB.read_text())
    assert len(lines) == 1, lines
    assert commands(lines[0]) == ["/usr/local/bin/fauna-sync", "/usr/local/bin/fauna-sync"]


def test_a_bare_name_is_caught():
    assert commands("17 * * * * fauna-sync sync --out x && fauna-sync verify --out x") == [
        "fauna-sync", "fauna-sync"]
