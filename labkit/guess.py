"""Guesses that count: a prediction written in a code cell, printed beside what the lab then measures.

At each prediction point a notebook has a cell such as ``my_guess = None  # milliseconds``;
the student replaces ``None`` with a number before running the measurement, whose cell
ends with ``print(guess.beside(my_guess, measured, "ms", "a cold request"))``.
"""

from __future__ import annotations

from . import config

NO_GUESS = {
    "bn": "তুমি কোনো অনুমান লেখোনি (ওপরের cell-এ {name} = None বদলে একটা সংখ্যা লেখো, তারপর এই cell আবার চালাও)।",
    "en": "You made no guess (replace {name} = None in the cell above with a number, then run this cell again).",
}
ROW = {"bn": ("তোমার অনুমান", "মাপা হলো"), "en": ("your guess", "measured")}


def beside(guess: float | None, measured: float, unit: str, what: str, name: str = "my_guess",
           lang: str | None = None) -> str:
    """One or two lines: the guess and the measurement of ``what`` side by side, and how far apart they are.

    Args:
        guess: the student's number, or None when they made no guess (then the line says so).
        name: the variable the guess cell sets, named in that line.
        measured: what the lab measured, in the same ``unit``.
        lang: ``bn`` or ``en``; default: ``LAB_LANG``.
    """
    lang = lang or config.load().lang
    yours, measured_label = ROW[lang]
    line = f"{what}: {measured_label} {measured:,.4g} {unit}"
    if guess is None:
        return f"{line}\n{NO_GUESS[lang].format(name=name)}"
    try:
        guess = float(guess)
    except (TypeError, ValueError):
        return f"{line}\n{yours}: {guess!r} ({'সংখ্যা নয়' if lang == 'bn' else 'not a number'})"
    if guess > 0 and measured > 0:
        factor = max(guess, measured) / min(guess, measured)
        off = "" if factor < 1.05 else (f", {factor:.3g}× {'কম' if guess < measured else 'বেশি'}" if lang == "bn"
                                         else f", {factor:.3g}× too {'low' if guess < measured else 'high'}")
        return f"{line} | {yours} {guess:,.4g} {unit}{off}"
    return f"{line} | {yours} {guess:,.4g} {unit}"

