"""A class's submissions: the folder and roster forms, the grader's copy of each, zips and git sources at the due date."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from checks.classroom import sources
from checks.classroom.sources import RosterError, SourceError, Submission

REPO = Path(__file__).resolve().parents[2]


def code(folder: Path, app: str = "print('mine')\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "app.py").write_text(app)
    (folder / "Dockerfile").write_text("FROM scratch\n")
    return folder


def roster(folder: Path, *rows: str, header: str = "student_id,name,email,source,submitted_at") -> Path:
    path = folder / "roster.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_a_folder_of_folders_names_each_student_by_its_folder_and_skips_hidden_ones(tmp_path):
    for name in ("bob", "alice", ".git"):
        code(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a submission")
    assert [s.id for s in sources.load(tmp_path)] == ["alice", "bob"]


@pytest.mark.parametrize("name", ["-rf", "a b", "ক্লাস", "x" * 65])
def test_a_folder_named_unsafely_is_refused_by_its_name(tmp_path, name):
    code(tmp_path / name)
    with pytest.raises(RosterError, match="not a safe student id"):
        sources.load(tmp_path)


def test_a_roster_reads_folders_zips_and_git_sources_relative_to_itself(tmp_path):
    code(tmp_path / "subs" / "a")
    code(tmp_path / "subs" / "g")
    subprocess.run(["git", "init", "-q", str(tmp_path / "subs" / "g")], check=True)
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as archive:
        archive.writestr("b/app.py", "x = 1\n")
    path = roster(tmp_path, "a,Ann,ann@example.org,subs/a,2026-12-01T10:00:00Z", "b,Bo,,b.zip,", "g,Gu,,subs/g,")
    found = {s.id: s for s in sources.load(path)}
    assert [found[i].kind for i in "abg"] == ["folder", "zip", "git"]
    assert found["a"].submitted_at == "2026-12-01T10:00:00+00:00" and found["a"].student == {
        "id": "a", "name": "Ann", "email": "ann@example.org"}


@pytest.mark.parametrize("rows, says", [
    (["a,A,,subs/a,", "a,B,,subs/a,"], "line 3: student_id 'a' is already on line 2"),
    (["../x,A,,subs/a,"], "line 2: student_id '../x' is not a safe folder name"),
    ([",A,,subs/a,"], "line 2: empty student_id"),
    (["a,A,,nowhere,"], "line 2: source 'nowhere' is not a folder, a .zip or a git repository"),
    (["a,A,,missing.zip,"], "line 2: no zip file"),
    (["a,A,,subs/a,yesterday"], "line 2: submitted_at: 'yesterday' is not an ISO 8601 time"),
], ids=["duplicate", "unsafe id", "empty id", "missing source", "missing zip", "bad time"])
def test_a_roster_mistake_is_one_line_naming_the_line(tmp_path, rows, says):
    code(tmp_path / "subs" / "a")
    with pytest.raises(RosterError, match=says.replace("(", r"\(").replace(".", r"\.")):
        sources.load(roster(tmp_path, *rows))


def test_a_roster_without_its_columns_is_refused(tmp_path):
    with pytest.raises(RosterError, match="the header lacks source"):
        sources.load(roster(tmp_path, "a,A,a@b", header="student_id,name,email"))


def test_the_command_refuses_a_roster_mistake_with_one_line_and_status_2(tmp_path):
    path = roster(tmp_path, "a/b,A,,x,")
    done = subprocess.run([sys.executable, "-m", "checks", "class", str(path), "--mode", "code", "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "line 2: student_id 'a/b'" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out" / "students").exists()


def test_the_snapshot_leaves_out_build_caches_and_links(tmp_path):
    folder = code(tmp_path / "src")
    (folder / "build" / "model").mkdir(parents=True)
    (folder / "build" / "model" / "model.joblib").write_bytes(b"the student's own model")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "app.pyc").write_bytes(b"")
    (folder / "secret.py").symlink_to("/etc/hostname")
    (folder / "linked").symlink_to(REPO / "checks")
    taken = sources.snapshot(Submission("a", path=str(folder)), tmp_path / "copy", None)
    copied = sorted(p.relative_to(tmp_path / "copy").as_posix() for p in (tmp_path / "copy").rglob("*"))
    assert copied == ["Dockerfile", "app.py"] and taken.commit is None


def test_the_content_hash_follows_the_code_not_its_build_folder(tmp_path):
    one, two = code(tmp_path / "one"), code(tmp_path / "two")
    (two / "build").mkdir()
    (two / "build" / "x").write_text("other")
    assert sources.content_hash(one) == sources.content_hash(two)
    (two / "app.py").write_text("print('changed')\n")
    assert sources.content_hash(one) != sources.content_hash(two)


def test_a_zip_with_one_top_folder_is_unwrapped_and_a_link_inside_is_skipped(tmp_path):
    with zipfile.ZipFile(tmp_path / "s.zip", "w") as archive:
        archive.writestr("exercises/app.py", "x = 1\n")
        archive.writestr("exercises/build/model.joblib", "theirs")
        link = zipfile.ZipInfo("exercises/evil.py")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
    sources.snapshot(Submission("a", kind="zip", path=str(tmp_path / "s.zip")), tmp_path / "copy", None)
    assert sorted(p.name for p in (tmp_path / "copy").rglob("*")) == ["app.py"]


@pytest.mark.parametrize("name", ["../escape.py", "/etc/evil.py"])
def test_a_zip_reaching_outside_its_folder_is_not_graded(tmp_path, name):
    with zipfile.ZipFile(tmp_path / "s.zip", "w") as archive:
        archive.writestr(name, "x = 1\n")
    with pytest.raises(SourceError, match="outside its own folder"):
        sources.snapshot(Submission("a", kind="zip", path=str(tmp_path / "s.zip")), tmp_path / "copy", None)
    assert not (tmp_path / "escape.py").exists()


def test_a_broken_zip_is_that_students_problem(tmp_path):
    (tmp_path / "s.zip").write_bytes(b"PK not really")
    with pytest.raises(SourceError, match="not a readable zip"):
        sources.snapshot(Submission("a", kind="zip", path=str(tmp_path / "s.zip")), tmp_path / "copy", None)


def commit(repo: Path, text: str, when: str) -> str:
    (repo / "app.py").write_text(text)
    env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, "GIT_AUTHOR_NAME": "s",
           "GIT_AUTHOR_EMAIL": "s@x", "GIT_COMMITTER_NAME": "s", "GIT_COMMITTER_EMAIL": "s@x"}
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", text], check=True, env=env)
    return subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_a_git_source_is_graded_at_its_last_commit_before_the_due_date_and_the_commit_is_recorded(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    on_time = commit(repo, "on_time = True\n", "2026-12-01T10:00:00+00:00")
    commit(repo, "late = True\n", "2026-12-03T10:00:00+00:00")
    due = sources.parse_time("2026-12-02T00:00:00Z", "--due")
    taken = sources.snapshot(Submission("a", kind="git", path=str(repo)), tmp_path / "copy", due)
    assert taken.commit == on_time and taken.submitted_at.startswith("2026-12-01T10:00:00")
    assert (tmp_path / "copy" / "app.py").read_text() == "on_time = True\n"
    assert not (tmp_path / "copy" / ".git").exists()
    with pytest.raises(SourceError, match="no commit before the due date"):
        sources.snapshot(Submission("a", kind="git", path=str(repo)), tmp_path / "early",
                         sources.parse_time("2026-11-01T00:00:00Z", "--due"))


@pytest.mark.parametrize("url", ["ext::sh -c touch% /tmp/lab-class-pwned x://y", "--upload-pack=touch /tmp/lab-class-pwned"])
def test_a_git_source_runs_no_command_whatever_its_url(tmp_path, url):
    with pytest.raises(SourceError, match="git clone failed"):
        sources.snapshot(Submission("a", kind="git", path=url), tmp_path / "copy", None)
    assert not Path("/tmp/lab-class-pwned").exists()
