"""The lab's command lines speak the student's language: a usage mistake reads in ``LAB_LANG``.

:class:`Parser` is :class:`argparse.ArgumentParser` whose description, help texts and error
messages may be :func:`labkit.bilingual.say` pairs, shown in the student's language; argparse's
own usage errors (an unknown option, a missing or invalid value) are said in Bengali too.
It exits with status 2 after one ``PROG: error: …`` line, as argparse does::

    parser = Parser(prog="python -m labkit.doctor", description=say("Check …", "দেখে নাও …"))
    parser.add_argument("--requests", type=int, help=say("requests to send", "কয়টা request পাঠাবে"))
    parser.error(say("--requests must be at least 1", "--requests অন্তত 1 হতে হবে"))
"""

from __future__ import annotations

import argparse
import re
import sys

from .bilingual import text
from .errors import language

# argparse's own usage errors (Python 3.11-3.13 wording), and how each reads in Bengali.
_ARGPARSE_BN = [
    (re.compile(r"unrecognized arguments: (?P<x>.*)"), "এই argument-গুলো চেনা নয়: {x}"),
    (re.compile(r"the following arguments are required: (?P<x>.*)"), "এই argument-গুলো দিতেই হবে: {x}"),
    (re.compile(r"argument (?P<a>\S+): invalid choice: (?P<v>.*?) \(choose from (?P<c>.*)\)"),
     "argument {a}: {v} চলবে না (এগুলোর একটা বেছে নাও: {c})"),
    (re.compile(r"argument (?P<a>\S+): expected one argument"), "argument {a}-এর পরে একটা মান দিতে হবে"),
    (re.compile(r"argument (?P<a>\S+): expected at least one argument"), "argument {a}-এর পরে অন্তত একটা মান দিতে হবে"),
    (re.compile(r"argument (?P<a>\S+): invalid int value: (?P<v>.*)"), "argument {a}: {v} পূর্ণসংখ্যা নয়"),
    (re.compile(r"argument (?P<a>\S+): invalid float value: (?P<v>.*)"), "argument {a}: {v} সংখ্যা নয়"),
    (re.compile(r"argument (?P<a>\S+): not allowed with argument (?P<b>\S+)"),
     "argument {a} আর {b} একসাথে দেওয়া যায় না"),
]


def translated(message: object, lang: str) -> str:
    """``message`` in ``lang``: a Said picks its language; argparse's own English errors are said in Bengali."""
    said = text(message, lang)
    if lang != "bn" or said != str(message):  # English, or a Said that carried its Bengali
        return said
    for pattern, bengali in _ARGPARSE_BN:
        if found := pattern.fullmatch(said):
            return bengali.format(**found.groupdict())
    return said


class Parser(argparse.ArgumentParser):
    """An argument parser whose texts and usage errors follow ``LAB_LANG`` (``lang`` overrides it)."""

    def __init__(self, *args, lang: str | None = None, description: object = None, **kwargs):
        self.lang = lang or language()
        super().__init__(*args, description=None if description is None else text(description, self.lang), **kwargs)

    def add_argument(self, *args, **kwargs):
        if "help" in kwargs and kwargs["help"] is not None:
            kwargs["help"] = text(kwargs["help"], self.lang)
        return super().add_argument(*args, **kwargs)

    def error(self, message: object):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {translated(message, self.lang)}\n")
