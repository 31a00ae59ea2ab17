"""A guess is printed beside the measurement, and a missing guess is named, in both languages."""

from __future__ import annotations

import pytest

from labkit import guess


@pytest.mark.parametrize("lang", ["bn", "en"])
def test_no_guess_says_so_and_still_shows_the_measurement(lang):
    text = guess.beside(None, 1234.5, "ms", "cold", lang=lang)
    assert "1,234" in text.splitlines()[0] or "1,235" in text.splitlines()[0]
    assert text.splitlines()[1] == guess.NO_GUESS[lang].format(name="my_guess")
    assert "break_even_guess = None" in guess.beside(None, 1, "requests/s", "x", name="break_even_guess", lang=lang)


def test_a_guess_stands_beside_the_measurement_with_how_far_off_it_was():
    assert guess.beside(100, 1000, "ms", "cold", lang="en") == "cold: measured 1,000 ms | your guess 100 ms, 10× too low"
    assert guess.beside(3000, 1000, "ms", "cold", lang="en").endswith("3× too high")
    assert guess.beside(1010, 1000, "ms", "cold", lang="en").endswith("your guess 1,010 ms")


def test_a_guess_that_is_not_a_number_is_named_not_raised():
    assert "not a number" in guess.beside("fast", 10, "ms", "warm", lang="en")


def test_the_language_follows_lab_lang(monkeypatch):
    monkeypatch.setenv("LAB_LANG", "bn")
    assert guess.ROW["bn"][1] in guess.beside(1, 2, "ms", "x")
