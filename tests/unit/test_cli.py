"""A student's usage mistakes and the lab's errors read in the student's language (LAB_LANG).

The lab's own messages are written once in both languages (``say``); argparse's own usage
errors are said in Bengali by :class:`labkit.cli.Parser`; English stays word for word.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from labkit import aws, config
from labkit.bilingual import say
from labkit.cli import Parser
from labkit.errors import LabError


def parser(lang: str) -> Parser:
    made = Parser(prog="lab", lang=lang, description=say("Run it.", "চালাও।"))
    made.add_argument("steps", nargs="*", type=int, help=say("steps", "ধাপ"))
    made.add_argument("--requests", type=int, help=say("how many", "কয়টা"))
    made.add_argument("--sandbox", choices=("docker", "process"))
    return made


@pytest.mark.parametrize("argv, bn, en", [
    (["--zz"], "lab: error: এই argument-গুলো চেনা নয়: --zz", "lab: error: unrecognized arguments: --zz"),
    (["--requests", "x"], "lab: error: argument --requests: 'x' পূর্ণসংখ্যা নয়",
     "lab: error: argument --requests: invalid int value: 'x'"),
    (["--requests"], "lab: error: argument --requests-এর পরে একটা মান দিতে হবে",
     "lab: error: argument --requests: expected one argument"),
    (["--sandbox", "vm"], "lab: error: argument --sandbox: 'vm' চলবে না (এগুলোর একটা বেছে নাও: 'docker', 'process')",
     "lab: error: argument --sandbox: invalid choice: 'vm' (choose from 'docker', 'process')"),
])
def test_argparses_own_usage_errors_are_said_in_bengali_and_kept_in_english(capsys, argv, bn, en):
    for lang, line in (("bn", bn), ("en", en)):
        with pytest.raises(SystemExit) as stopped:
            parser(lang).parse_args(argv)
        assert stopped.value.code == 2 and capsys.readouterr().err.splitlines()[-1] == line


def test_the_labs_own_texts_and_errors_follow_the_language(capsys):
    for lang, help_text, error in (("bn", "কয়টা", "lab: error: অন্তত 1"), ("en", "how many", "lab: error: at least 1")):
        made = parser(lang)
        assert help_text in made.format_help()
        with pytest.raises(SystemExit):
            made.error(say("at least 1", "অন্তত 1"))
        assert capsys.readouterr().err.splitlines()[-1] == error


def test_the_language_is_lab_lang_and_bengali_when_it_is_missing_or_wrong():
    assert [config.language(env) for env in ({}, {"LAB_LANG": "en"}, {"LAB_LANG": " EN "}, {"LAB_LANG": "fr"})] == [
        "bn", "en", "en", "bn"]


@pytest.mark.parametrize("lang, line", [("bn", "error: ধাপ ২ এখনো বাকি"), ("en", "error: step 2 is not done")])
def test_a_lab_error_is_one_line_in_the_students_language_in_a_notebook_and_a_terminal(monkeypatch, lang, line):
    monkeypatch.setenv("LAB_LANG", lang)
    error = LabError(say("step 2 is not done", "ধাপ ২ এখনো বাকি"))
    assert str(error) == "step 2 is not done" and error._render_traceback_() == [line]
    program = ("import labkit.config; from labkit.bilingual import say; from labkit.errors import LabError, run_cli\n"
               "def main(): raise LabError(say('step 2 is not done', 'ধাপ ২ এখনো বাকি'))\nrun_cli(main)")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=config.REPO_ROOT,
                          env={"LAB_LANG": lang, "PATH": ""})
    assert done.returncode == 1 and done.stderr.strip() == line


def test_an_aws_error_is_explained_in_both_languages_with_what_the_lab_was_doing():
    settings = config.load({"LAB_ENDPOINT_URL": "http://127.0.0.1:9"})
    with pytest.raises(LabError) as raised, aws.explained(settings, say("listing", "তালিকা করা")):
        aws.client(settings, "ecr").describe_repositories()
    assert raised.value.text("en") == ("listing: the local AWS stand-in is not running at http://127.0.0.1:9; "
                                       "start it with `make cloud-up`")
    assert raised.value.text("bn") == ("তালিকা করা: local AWS stand-in http://127.0.0.1:9-এ চলছে না; "
                                       "`make cloud-up` দিয়ে চালু করো")
