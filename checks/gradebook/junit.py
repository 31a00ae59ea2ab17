"""JUnit XML: one ``testsuite`` per student, one ``testcase`` per check; a failed check is a ``failure``,
a skipped one ``skipped``, a submission that was NOT GRADED one ``error`` test case.

The shape is the common JUnit schema as CI tools read it (Jenkins' ``junit-10.xsd``, with the Ant schema's
elements in its order; the Ant schema itself has no ``skipped``): ``testsuites`` (``name``, ``tests``,
``failures``, ``errors``, ``time``) holding ``testsuite`` elements (``name``, ``tests``, ``failures``, ``errors``, ``skipped``, ``time``,
``timestamp`` without a zone, ``hostname``, ``id``, ``package``), each with ``properties``, its
``testcase`` elements (``name``, ``classname``, ``time``), then ``system-out`` and ``system-err``.

Also a command, for a student's repository workflow (one report, no class)::

    python -m checks.gradebook.junit report.json out.xml
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from . import records as rec


def timestamp(record: dict) -> str:
    """``graded_at`` as the schema's dateTime: UTC, seconds, no zone."""
    try:
        moment = datetime.fromisoformat(str(record.get("graded_at")))
    except ValueError:
        moment = datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def suite(record: dict, index: int) -> ET.Element:
    """One student's testsuite."""
    student = rec.sid(record)
    seconds = {str(k): float(v) for k, v in (record.get("step_seconds") or {}).items()}
    element = ET.Element("testsuite", name=student, package="checks", id=str(index), hostname="localhost",
                         timestamp=timestamp(record))
    properties = ET.SubElement(element, "properties")
    for key in ("mode", "grader_version", "submission_hash", "sandboxed", "status"):
        ET.SubElement(properties, "property", name=key, value=str(record.get(key, "")))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if record.get("status") != rec.GRADED:
        case = ET.SubElement(element, "testcase", name="NOT GRADED", classname=f"{student}.grading", time="0")
        ET.SubElement(case, "error", message=str(rec.reason(record)), type="NotGraded").text = str(record.get("reason"))
        counts.update(tests=1, errors=1)
    for number, result in rec.numbered(record) if record.get("status") == rec.GRADED else ():
        case = ET.SubElement(element, "testcase", name=f"{number} {result['name']}",
                             classname=f"{student}.step{result['step']}", time="0")
        counts["tests"] += 1
        mark = rec.mark(result)
        if mark == "FAIL":
            counts["failures"] += 1
            failure = ET.SubElement(case, "failure", message=str(result.get("message") or "failed"), type="CheckFailed")
            failure.text = f"hint: {result.get('hint', '')}"
        elif mark == "SKIP":
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", message=str(result.get("message") or "skipped"))
    ET.SubElement(element, "system-out").text = f"{record.get('earned', '')}/{record.get('possible', '')} points"
    ET.SubElement(element, "system-err")
    for key, value in counts.items():
        element.set(key, str(value))
    element.set("time", f"{sum(seconds.values()):.3f}")
    return element


def junit_xml(records: list[dict], name: str = "serverless-ai-lab") -> str:
    """The class's JUnit XML document."""
    root = ET.Element("testsuites", name=name)
    suites = [suite(record, index) for index, record in enumerate(sorted(records, key=rec.sid))]
    root.extend(suites)
    for key in ("tests", "failures", "errors"):  # junit-10.xsd's testsuites has no skipped attribute
        root.set(key, str(sum(int(s.get(key)) for s in suites)))
    root.set("time", f"{sum(float(s.get('time')) for s in suites):.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def from_report(report: dict, student: str = "submission") -> dict:
    """A plain ``python -m checks --json`` report as a graded record of one unnamed student."""
    return {"status": rec.GRADED, "student": {"id": student}, **report}


def main(argv: list[str] | None = None) -> int:
    """``python -m checks.gradebook.junit REPORT.json OUT.xml``: a grading report as JUnit XML."""
    args = sys.argv[1:] if argv is None else argv
    report = rec.read_report("checks.gradebook.junit", "REPORT.json OUT.xml", args, 2)
    if report is None:
        return 2
    Path(args[1]).write_text(junit_xml([from_report(report)]), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
