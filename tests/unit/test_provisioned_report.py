"""The on-demand vs provisioned table of notebook 07b."""

from __future__ import annotations

from labkit.experiments.provisioned import ALIAS, Call, format_calls


def test_rows_pair_each_position_of_both_targets():
    calls = [Call("$LATEST", 1, 1008.1, True, 849.0), Call("$LATEST", 2, 5.8, False, None),
             Call(ALIAS, 1, 7.5, False, None), Call(ALIAS, 2, 6.1, False, None)]
    header, columns, first, second = format_calls(calls, "en").splitlines()
    assert "on demand ($LATEST)" in header and f"provisioned ({ALIAS})" in header
    assert columns.split() == ["#", "client", "cold?", "init", "client", "cold?", "init"]
    assert first.split() == ["1", "1008.1", "ms", "yes", "849", "ms", "7.5", "ms", "no", "-"]
    assert second.split() == ["2", "5.8", "ms", "no", "-", "6.1", "ms", "no", "-"]
    assert format_calls(calls, "bn").splitlines()[2].split()[3:4] == ["হ্যাঁ"]
