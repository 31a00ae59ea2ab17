"""The per-student record, ``DIR/students/<id>/grade.json`` (its fields: :mod:`checks.classroom`), and its history.

A record is reused when its key (:func:`key`: the submission's content hash, the grader's version, the
mode and the environment) matches the submission about to be graded; a regrade moves the record it
replaces to ``DIR/history/<id>/<graded_at>.json`` first, and :func:`changes` says who changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from labkit.config import REPO_ROOT

from ..files import write_atomically

GRADER_SOURCES = ("checks", "labkit", "localcloud", "lambda_rie")
NOT_GRADER = ("checks/gradebook/",)  # output formats: a change there changes no grade


def grader_version() -> str:
    """A digest of every source file that can change a grade (the grader, the lab's plumbing, the stand-in)."""
    digest = hashlib.sha256()
    for top in GRADER_SOURCES:
        for path in sorted((REPO_ROOT / top).rglob("*")):
            relative = path.relative_to(REPO_ROOT).as_posix()
            if (path.suffix in (".py", ".yaml", ".json") and "__pycache__" not in relative
                    and not relative.startswith(NOT_GRADER)):
                digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def key(record: dict) -> tuple:
    """What makes a record reusable: the same code, grader, mode and environment."""
    return (record.get("submission_hash"), record.get("grader_version"), record.get("mode"),
            json.dumps(record.get("environment"), sort_keys=True))


def not_graded(base: dict, reason: str) -> dict:
    """A NOT GRADED record: no score, the reason for the instructor (``NOT GRADED: …`` or ``grader fault: …``)."""
    return {"earned": 0, "possible": 0, "passed": False, "sandboxed": False, "isolation": {}, "lang": base.get("lang"),
            "results": [], **base, "status": "not_graded", "reason": reason, "step_seconds": base.get("step_seconds", {}),
            "latency": None, "graded_at": now()}


def path(out: Path, ident: str) -> Path:
    return out / "students" / ident / "grade.json"


def read(file: Path) -> dict | None:
    with contextlib.suppress(OSError, ValueError):
        found = json.loads(file.read_text())
        return found if isinstance(found, dict) else None
    return None


def write(file: Path, record: dict) -> None:
    """Atomically: a reader sees the old record, none, or the whole new one."""
    file.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(file, json.dumps(record, indent=2, ensure_ascii=False))


def keep_history(out: Path, ident: str) -> dict | None:
    """Move the student's current record to the history folder; returns it (None when there was none)."""
    current = path(out, ident)
    old = read(current)
    if old is None:
        return None
    stamp = str(old.get("graded_at") or now()).replace(":", "").replace("+0000", "Z")
    target = out / "history" / ident / f"{stamp}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(current, target)
    return old


def score(record: dict) -> str:
    if record.get("status") != "graded":
        return "NOT GRADED"
    return f"{record.get('earned')}/{record.get('possible')}"


def failed(record: dict) -> set[str]:
    return {r["id"] or r["name"] for r in record.get("results", []) if not r["passed"] and not r["skipped"]}


def changes(old: dict, new: dict) -> str | None:
    """One line saying how a regrade changed a student's result, or None when it did not."""
    if score(old) == score(new) and failed(old) == failed(new):
        return None
    now_failing, now_passing = sorted(failed(new) - failed(old)), sorted(failed(old) - failed(new))
    detail = ", ".join([*(f"-{c}" for c in now_failing), *(f"+{c}" for c in now_passing)])
    return f"{new['student']['id']}: {score(old)} -> {score(new)}" + (f" ({detail})" if detail else "")
