"""The latency report: what is written is what is read back, and the summary splits cold from warm."""

from __future__ import annotations

from lab_solution.latency import summarize
from labkit.timing import Sample, format_summary, read_samples, write_samples


def samples() -> list[Sample]:
    rows = []
    for round_ in (1, 2):
        rows.append(Sample(round_, 1, 900.0 + round_, 200, True, f"r{round_}-1", 3.0, 700.0))
        rows += [Sample(round_, p, 3.0 + p / 10, 200, False, f"r{round_}-{p}", 1.0, None) for p in range(2, 11)]
    rows[-1].duration_ms = None  # a REPORT line that never arrived
    return rows


def test_csv_round_trip(tmp_path):
    written = samples()
    csv_path = write_samples(written, tmp_path)
    assert read_samples(csv_path) == written


def test_summary_splits_first_requests_from_the_rest():
    summary = summarize(samples())
    assert summary["requests"] == 20 and summary["rounds"] == 2
    assert summary["cold_latency_ms"] == {"n": 2, "p50": 901.5, "p95": 901.95, "max": 902.0}
    assert summary["warm_latency_ms"]["n"] == 18 and summary["warm_latency_ms"]["max"] == 4.0
    assert summary["init_duration_ms"]["p50"] == 700.0 and summary["warm_duration_ms"]["n"] == 17
    assert summary["cold_to_warm_p50"] == round(901.5 / summary["warm_latency_ms"]["p50"], 1)


def test_the_summary_table_reads_in_either_language():
    summary = summarize(samples())
    english, bengali = format_summary(summary, "en").splitlines(), format_summary(summary, "bn").splitlines()
    assert english[2].startswith("warm (the others)") and bengali[2].startswith("warm (বাকিগুলো)")
    assert english[-1].startswith("a cold request took") and "গুণ সময় নিয়েছে (p50)" in bengali[-1]
    assert [line.split()[-6:] for line in english[1:4]] == [line.split()[-6:] for line in bengali[1:4]]
