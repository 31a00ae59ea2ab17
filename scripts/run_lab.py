"""Run the whole lab: every notebook in order, each step graded right after its graded notebook.

    python scripts/run_lab.py                      # what `make lab` runs
    python scripts/run_lab.py --only 01 02 07b     # some notebooks, named by their number

Executed copies go to build/notebooks/; the committed notebooks, which carry no outputs,
stay untouched. The kernel is this interpreter, so the lab runs in the virtual
environment whatever other Jupyter kernels the machine has. The notebooks and their order
come from :data:`labkit.steps.NOTEBOOKS`: a step is graded after the notebook whose grade
cell closes it (steps 1-7 before cleanup, step 8 after), and its ungraded follow-ups
(``07b_mitigate_and_decide``) run after that grade; one report closes the run.
"""

from __future__ import annotations

from checks import Context, Report, all_steps, run_steps
from checks.runner import choose_isolation
from labkit import config, kernels, steps, timing
from labkit.bilingual import say, text
from labkit.cli import Parser
from labkit.errors import LabError, run_cli

NOTEBOOKS = config.REPO_ROOT / "notebooks"


def number_of(notebook: str) -> str:
    """What ``--only`` calls a notebook: ``07b_mitigate_and_decide.ipynb`` -> ``07b``."""
    return notebook.split("_", 1)[0]


def main(argv: list[str] | None = None) -> int:
    parser = Parser(description=say(__doc__.splitlines()[0],
                                    "পুরো lab চালাও: প্রতিটা notebook ক্রমানুসারে, প্রতিটা ধাপের grade তার notebook-এর পরেই।"))
    parser.add_argument("--only", nargs="+", metavar="NN", help=say("notebook numbers to run, e.g. 01 02 07b",
                                                                    "কোন notebook-গুলো চালাবে, যেমন 01 02 07b"))
    args = parser.parse_args(argv)
    settings = config.load()
    lang = settings.lang

    def tell(en: str, bn: str) -> None:
        print(text(say(en, bn), lang))

    chosen = [(step, name) for step in steps.STEPS for name in step.notebooks
              if not args.only or number_of(name) in args.only]
    if not chosen:
        raise LabError(say(f"no notebooks match {args.only}", f"{args.only}-এর সাথে কোনো notebook মেলে না"))
    tell(f"Running {len(chosen)} notebook(s) with code from {settings.code!r} on target {settings.target!r}",
         f"{len(chosen)}টা notebook চলছে, code {settings.code!r} থেকে, target {settings.target!r}")
    results, titles, isolation, failures = [], {}, {}, []
    destination = settings.build_dir / "notebooks"
    for step, name in chosen:
        graded = name == step.notebook and step.number in all_steps()
        if reason := steps.unrunnable(step, settings):
            tell(f"  {name}: skipped: {reason}", f"  {name}: বাদ গেল: {text(reason, 'bn')}")  # its checks say so too
        elif failure := kernels.execute(NOTEBOOKS / name, destination / name):
            tell(f"  {name}: FAILED at {failure}", f"  {name}: থেমে গেল, {failure}")
            failures.append(name)
        else:
            tell(f"  {name}: ran", f"  {name}: চলেছে")
        if graded:
            report = run_steps([step.number], Context(settings), isolation=choose_isolation())
            results += report.results
            titles |= report.titles
            isolation |= report.isolation
            earned, possible = report.step_score(step.number)
            tell(f"  step {step.number} graded: {earned}/{possible}", f"  ধাপ {step.number}-এর grade: {earned}/{possible}")
    report = Report(results, titles, isolation, lang=lang)
    print("\n" + report.summary())
    if (settings.latency_dir / "summary.json").exists():
        measured = timing.read_summary(settings.latency_dir)
        cold, warm = measured["cold_latency_ms"]["p50"], measured["warm_latency_ms"]["p50"]
        tell(f"Measured through the public URL: cold p50 {cold:.0f} ms, warm p50 {warm:.1f} ms "
             f"(details: {settings.latency_dir})",
             f"Public URL দিয়ে মাপা: cold p50 {cold:.0f} ms, warm p50 {warm:.1f} ms (বিস্তারিত: {settings.latency_dir})")
    if failures:
        tell(f"Notebooks that stopped with an error: {', '.join(failures)} (executed copies in {destination})",
             f"যে notebook-গুলো error-এ থেমেছে: {', '.join(failures)} (চালানো কপি {destination}-এ)")
    return 0 if report.passed and not failures else 1


if __name__ == "__main__":
    run_cli(main)
