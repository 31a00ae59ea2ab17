"""Command line of the grader.

    python -m checks                 # every step, code from LAB_CODE (default: exercises)
    python -m checks 2               # one step
    python -m checks 1 2 --code lab_solution
    python -m checks --code submissions/alice --build-dir submissions/alice/build --json --out alice.json
    python -m checks --list          # per step: notebook, files and functions to write, checks and points
    python -m checks class SOURCE --mode code|deploy --out DIR   # a whole class (python -m checks class --help)
    python -m checks gradescope-bundle OUT.zip                   # Gradescope's autograder (checks/autograder/)

Exit status: 0 when every check passed, 1 when any failed, 2 for a usage mistake.
``--json`` prints only the grader's JSON on stdout (the submission's output never reaches it);
``--out FILE`` writes the same JSON atomically (a run that dies leaves no FILE at all).
The index and the text report are in ``LAB_LANG`` (Bengali by default; ``LAB_LANG=en``: English).
Grading a submission folder (``--code FOLDER``) is an instructor's run: its text report also
says when a step's code did not run in a container (the JSON always does).
"""

from __future__ import annotations

import contextlib
import sys
from argparse import Namespace
from pathlib import Path

from labkit.bilingual import say, text
from labkit.cli import Parser

from . import texts
from .context import Context, LabError, config
from .files import write_atomically
from .framework import all_steps, todo_label
from .runner import ISOLATIONS, choose_isolation, run_steps


def parse_args(argv: list[str] | None) -> Namespace:
    steps = all_steps()
    first, last = min(steps), max(steps)
    parser = Parser(prog="python -m checks", description=say("Grade the Serverless AI lab, step by step.",
                                                              "Serverless AI lab-এর grade, ধাপে ধাপে।"))
    parser.add_argument("steps", nargs="*", type=int, metavar="STEP",
                        help=say(f"steps to grade ({first}-{last}; default all)",
                                 f"কোন ধাপগুলোর grade ({first}-{last}; না দিলে সব)"))
    parser.add_argument("--code", help=say("exercises, lab_solution or a submission folder (default: LAB_CODE or exercises)",
                                           "exercises, lab_solution বা একটা submission folder (default: LAB_CODE বা exercises)"))
    parser.add_argument("--build-dir", help=say("where the submission's model and reports are (default: LAB_BUILD_DIR or build/)",
                                                "submission-এর model আর report কোথায় (default: LAB_BUILD_DIR বা build/)"))
    parser.add_argument("--json", action="store_true", help=say("print only the report, as JSON", "শুধু report, JSON-এ"))
    parser.add_argument("--out", help=say("also write the JSON report to this file (atomically)",
                                          "JSON report এই file-এও লেখো (atomically)"))
    parser.add_argument("--list", action="store_true", help=say("list the steps, what to write for each, and their checks",
                                                                "ধাপগুলো, প্রতিটায় কী লিখবে আর তার check-গুলো দেখাও"))
    parser.add_argument("--sandbox", choices=ISOLATIONS, default="auto",
                        help=say("docker: a container per step (its image is built on first use); process: "
                                 "resource-limited processes only; auto (default): docker when its image is there",
                                 "docker: প্রতি ধাপে একটা container (তার image প্রথমবার build হয়); process: শুধু "
                                 "resource-সীমিত process; auto (default): image থাকলে docker"))
    parser.add_argument("--step-timeout", type=float, metavar="SECONDS",
                        help=say("wall-clock budget of each step's code", "প্রতিটা ধাপের code কত সময় পাবে (second)"))
    args = parser.parse_args(argv)
    unknown = ", ".join(map(str, sorted(set(args.steps) - set(steps))))
    if unknown:
        known = ", ".join(map(str, sorted(steps)))
        parser.error(say(f"no step {unknown}; steps are {known}", f"ধাপ {unknown} নেই; ধাপগুলো হলো {known}"))
    if args.step_timeout is not None and not 1 <= args.step_timeout <= 3600:
        parser.error(say("--step-timeout must be between 1 and 3600 seconds",
                         "--step-timeout হতে হবে 1 থেকে 3600 second-এর মধ্যে"))
    return args


VISIBILITY = {"hidden": say(" (hidden from students in a class's files)", " (class-এর file-এ student-দের কাছে লুকানো)"),
              "after_due": say(" (shown to students after the due date)", " (due date-এর পরে student-রা দেখবে)")}


def listing(numbers: list[int], lang: str = "en", folder: str = "exercises") -> str:
    """The step index in ``lang``: notebook, what to write (in ``folder``), and every check with its points."""
    step_word, points, write = (text(w, lang) for w in (say("Step", "ধাপ"), say("points", "পয়েন্ট"),
                                                          say("write", "লিখবে")))
    lines = []
    for number, step in all_steps().items():
        if number not in numbers:
            continue
        lines.append(f"{step_word} {number}: {text(step.title, lang)}  [{sum(c.points for c in step.checks)} {points}]  "
                     f"notebooks/{step.notebook}")
        if step.todos:
            lines.append(f"  {write}: " + ", ".join(todo_label(t, folder) for t in step.todos))
        lines += [f"  {c.points:>2}  {texts.of_check(c.id, 'name', c.name, lang)}"
                  f"{text(VISIBILITY[c.visibility], lang) if c.visibility in VISIBILITY else ''}" for c in step.checks]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["class"]:
        from .classroom import cli

        return cli.main(argv[1:])
    if argv[:1] == ["gradescope-bundle"]:
        from .autograder import bundle

        return bundle.main(argv[1:])
    args = parse_args(argv)
    steps = args.steps or sorted(all_steps())
    if args.list:
        try:
            settings = config.load(code=args.code)
        except LabError as error:
            print(f"error: {error.text()}", file=sys.stderr)
            return 2
        print(listing(steps, settings.lang, config.code_label(settings)))
        return 0
    out = Path(args.out).resolve() if args.out else None
    if out is not None:
        if not out.parent.is_dir():
            print("error: " + text(say(f"--out {args.out}: no folder {out.parent}", f"--out {args.out}: {out.parent} folder নেই"),
                                   config.language()), file=sys.stderr)
            return 2
        with contextlib.suppress(FileNotFoundError):
            out.unlink()  # a run that dies must not leave an older report behind as if it were this one
    try:
        settings = config.load(code=args.code, build_dir=args.build_dir and Path(args.build_dir).resolve())
        isolation = choose_isolation(args.sandbox)
    except (LabError, RuntimeError) as error:
        print(f"error: {error.text() if isinstance(error, LabError) else error}", file=sys.stderr)
        return 2
    report = run_steps(steps, Context(settings), isolation=isolation, step_timeout=args.step_timeout)
    if out is not None:
        write_atomically(out, report.to_json())
    if args.json:
        print(report.to_json())
    else:
        folder, target = config.code_label(settings), settings.target
        print(text(say(f"Grading {folder} on target {target}", f"Grade করা হচ্ছে: {folder}, target {target}"),
                   settings.lang))
        print(report.summary(sandbox_note=args.code is not None and args.code.strip() not in config.CODE_PACKAGES))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
