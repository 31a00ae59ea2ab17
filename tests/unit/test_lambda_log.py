"""The stand-in's Lambda log framing, driven by a scripted RIE output and a fake wall clock."""

from localcloud.aws.awslambda.lambdalog import Invocation, LogParser, iso_time

RAPID = "02 Dec 2026 06:00:00,000 [INFO] (rapid) "
COLD_RUN = [
    "START RequestId: rie-id-1 Version: $LATEST",
    RAPID + "INIT START(type: on-demand, phase: init)",
    "loading model",
    RAPID + "INIT REPORT(durationMs: 812.50)",
    RAPID + "INVOKE START(requestId: rie-id-1)",
    "predicting",
    RAPID + "INVOKE RTDONE(status: success, produced bytes: 0, duration: 3.25ms)",
    "END RequestId: rie-id-1",
    "REPORT RequestId: rie-id-1\tInit Duration: 0.02 ms\tDuration: 815.75 ms\tBilled Duration: 816 ms\t"
    "Memory Size: 3008 MB\tMax Memory Used: 3008 MB\t",
]


class FakeClock:
    """Milliseconds since the epoch that move only when told to."""

    def __init__(self, ms: int):
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def run_cold(clock: FakeClock, orphans: list[str]) -> tuple[Invocation, list[Invocation]]:
    finals: list[Invocation] = []
    invocation = Invocation("caller-id", 512, cold=True, version="$LATEST", max_memory=lambda: 80,
                            on_final=finals.append, now_ms=clock)
    parser = LogParser(orphan=orphans.append, now_ms=clock)
    parser.expect(invocation)
    for line in COLD_RUN:
        parser.feed(line + "\n")
        clock.ms += 10
    invocation.answered(expect_report=True)
    return invocation, finals


def test_a_cold_invoke_is_framed_as_aws_frames_it_with_the_clocks_timestamps():
    clock, orphans = FakeClock(1_000_000), []
    invocation, finals = run_cold(clock, orphans)

    assert finals == [invocation] and orphans == []
    assert invocation.request_id == "rie-id-1"  # the id the handler saw, not the one the caller picked
    texts = [text for _, text in invocation.final()]
    assert texts[:4] == ["loading model", "START RequestId: rie-id-1 Version: $LATEST", "predicting",
                         "END RequestId: rie-id-1"]
    report = texts[4]
    assert "Duration: 3.25 ms" in report and "Init Duration: 812.50 ms" in report
    assert "Billed Duration: 816 ms" in report and "Max Memory Used: 80 MB" in report
    assert "(rapid)" not in "".join(texts)

    stamps = [stamp for stamp, _ in invocation.final()]
    assert stamps == sorted(stamps)  # PutLogEvents order, although init output was printed after START
    assert stamps[0] == 1_000_020 and stamps[-1] == clock.ms  # "loading model" was the third line read


def test_the_tail_is_the_last_4_kb_and_measured_once():
    clock = FakeClock(5_000)
    invocation, _ = run_cold(clock, [])
    first = invocation.tail()
    clock.ms += 60_000
    assert invocation.tail() == first  # REPORT is final: a later read does not re-stamp or re-measure
    assert first.endswith("\n") and len(first.encode()) <= 4096


def test_output_nobody_is_waiting_for_is_an_orphan_not_lost():
    orphans: list[str] = []
    parser = LogParser(orphan=orphans.append, now_ms=FakeClock(0))
    parser.feed("a background thread printed this\n")
    parser.feed("   \n")
    assert orphans == ["a background thread printed this"]


def test_iso_time_is_lambdas_timestamp_format():
    assert iso_time(1_767_225_600_123) == "2026-01-01T00:00:00.123Z"


def test_memory_is_read_once_by_whoever_renders_the_log_not_by_the_answer():
    reads: list[int] = []
    invocation = Invocation("id", 128, cold=False, version="$LATEST", max_memory=lambda: reads.append(1) or 60,
                            on_final=lambda _: None, now_ms=FakeClock(0))
    invocation.reported(2.0)
    invocation.answered(expect_report=True)
    assert invocation.done.is_set() and reads == []  # the caller's answer did not wait on /proc or a cgroup
    assert "Max Memory Used: 60 MB" in invocation.final()[-1][1]
    invocation.final()
    invocation.tail()
    assert reads == [1]
