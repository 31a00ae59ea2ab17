"""Text in the lab's two languages, written side by side at one place and picked at the last moment.

A message that a student reads is built once, in English and in Bengali, with :func:`say`::

    raise CheckFailed(say(f"only {n} requests", f"মাত্র {n}টা request"))

The result, a :class:`Said`, *is* the English string (``str()``, ``==``, ``in``, f-strings and
JSON all see the English, so code and tests that treat messages as strings keep working) and
carries its Bengali beside it; whoever shows it to a student picks the language with
:func:`text` (``LAB_LANG``: ``bn`` by default, or ``en``). Concatenating two of them with ``+``
keeps both languages; :func:`joined` joins several. A plain ``str`` is English only, and shows
as English in either language.
"""

from __future__ import annotations

from collections.abc import Iterable


class Said(str):
    """English text (the string itself) that also carries its Bengali (``.bn``)."""

    bn: str

    def __new__(cls, en: str, bn: str | None = None) -> Said:
        said = super().__new__(cls, en)
        said.bn = str(en) if bn is None else str(bn)
        return said

    def __getnewargs__(self) -> tuple[str, str]:  # copies and pickles keep both languages
        return str(self), self.bn

    def __add__(self, other: str) -> Said:
        return Said(str(self) + str(other), self.bn + text(other, "bn"))

    def __radd__(self, other: str) -> Said:
        return Said(str(other) + str(self), text(other, "bn") + self.bn)


def say(en: str, bn: str) -> Said:
    """One message in both languages: English first, then its Bengali."""
    return Said(en, bn)


def text(value: object, lang: str) -> str:
    """``value`` in ``lang`` (``bn`` or ``en``); a plain string is English and reads the same in both."""
    if isinstance(value, Said):
        return value.bn if lang == "bn" else str(value)
    return str(value)


def joined(parts: Iterable[str], separator: str = "; ") -> Said:
    """``separator.join(parts)`` in both languages."""
    parts = list(parts)
    return Said(separator.join(map(str, parts)), separator.join(text(p, "bn") for p in parts))
