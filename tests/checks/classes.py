"""A class graded end to end, as an instructor runs it: the helpers the class tests share."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import mutation

from checks.classroom import batch
from localcloud import relay
from polling import wait_for


def by_name(folder: Path) -> dict[str, mutation.Mutant]:
    return {m.name: m for m in mutation.mutants_in(folder)}


def roster(root: Path, mutants: list[mutation.Mutant], extra: dict[str, Path]) -> Path:
    """A roster CSV of the reference, ``extra`` folders and the mutants' submissions (ids: their names, dashed)."""
    rows = ["student_id,name,email,source", f"reference,Ref,ref@example.org,{mutation.SOLUTION}"]
    rows += [f"{ident},{ident},,{folder}" for ident, folder in extra.items()]
    for mutant in mutants:
        rows.append(f"{mutant.name.replace('_', '-')},{mutant.name},,{mutation.submission(mutant, root / mutant.name)}")
    path = root / "roster.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def grade_class(source: Path, out: Path, mode: str, *extra: str, timeout: float = 600,
                docker: str = "off") -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "checks", "class", str(source), "--mode", mode, "--out", str(out), "--sandbox",
               "process", "--no-progress", *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=mutation.REPO,
                          env={**os.environ, "PYTHONPATH": str(mutation.REPO), "LAB_DOCKER": docker, "LAB_LANG": "en"})


def gradebook(out: Path) -> dict[str, int]:
    """Each student's total in the class's ``grades.csv`` (otter's shape), as an instructor's import reads it."""
    with (out / "grades.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["file"] == "points-per-question"
    return {row["file"]: int(row["total_points_earned"]) for row in rows[1:]}


def records(out: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in (out / "students").glob("*/grade.json")}


def nothing_left(out: Path) -> None:
    """No worker or stand-in of the class run that wrote ``out`` is left (each is known by the run's work folder,
    named after ``out``), and no work folder."""
    mark = f"/{batch.work_prefix(out)}-".encode()

    def ours(entry: Path) -> bool:
        try:
            command = (entry / "cmdline").read_bytes()
            seen = command + ((entry / "environ").read_bytes() if b"localcloud" in command else b"")
        except OSError:
            return False
        return mark in seen

    wait_for(lambda: not any(ours(e) for e in Path("/proc").iterdir() if e.name.isdigit()), 10,
             what="every process of the class run gone")
    left = list(Path(tempfile.gettempdir()).glob(f"{batch.work_prefix(out)}-*"))
    assert not left, left


class Listener:
    """A TCP server on 127.0.0.1 that only keeps what anyone sends it."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.heard: list[bytes] = []
        threading.Thread(target=relay.serve_forever, args=(self.server, self.hear), daemon=True).start()

    def hear(self, client: socket.socket) -> None:
        with client:
            client.settimeout(5)
            try:
                self.heard.append(client.recv(1000))
            except OSError:
                self.heard.append(b"")

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.server.close()
