"""The matrix's account: each combination's gates, their outcomes and time, and its summary."""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.combinations import TEMPLATE_ROOT

MATRIX_MODULE = "tests/test_generated_project.py"
MATRIX_RESULTS = TEMPLATE_ROOT / "bench" / "results" / "matrix.json"


@dataclass
class MatrixRow:
    """What the matrix did for one combination: its gates' outcomes and time spent."""

    passed: int = 0
    failed: int = 0
    seconds: float = 0.0
    gates: Counter[str] = field(default_factory=Counter)  # seconds by gate


# The first gate's setup renders and installs the combination.
SETUP = "render and install"


_matrix: dict[str, MatrixRow] = {}
_started = time.monotonic()


def account(report: pytest.TestReport) -> str | None:
    """Add a matrix gate's report to its combination's row; return the combination (or None)."""
    if not report.nodeid.startswith(MATRIX_MODULE) or "[" not in report.nodeid:
        return None
    combination = report.nodeid.split("[", 1)[1].split("]", 1)[0]
    row = _matrix.setdefault(combination, MatrixRow())
    row.seconds += report.duration
    gate = SETUP if report.when == "setup" else report.nodeid.split("::", 1)[1].split("[", 1)[0]
    row.gates[gate] += report.duration
    if report.failed:
        row.failed += 1
    elif report.passed and report.when == "call":
        row.passed += 1
    return combination


def matrix_summary(terminalreporter: Any) -> None:
    """The combinations run, passed and failed, the wall time and the slowest ten; as JSON too."""
    if not _matrix:
        return
    wall = time.monotonic() - _started
    failed = sorted(c for c, row in _matrix.items() if row.failed)
    median = statistics.median(row.seconds for row in _matrix.values())
    slowest = sorted(_matrix.items(), key=lambda item: item[1].seconds, reverse=True)[:10]
    terminalreporter.section("matrix")
    terminalreporter.write_line(
        f"combinations run {len(_matrix)}, passed {len(_matrix) - len(failed)}, "
        f"failed {len(failed)}; wall time {wall / 60:.1f} min; "
        f"median per combination {median:.1f} s (all its gates, one worker)"
    )
    for combination in failed:
        terminalreporter.write_line(f"FAILED {combination}")
    terminalreporter.write_line("slowest ten:")
    for combination, row in slowest:
        terminalreporter.write_line(f"  {row.seconds:7.1f} s  {combination}")
    by_gate = sum((row.gates for row in _matrix.values()), Counter[str]())
    total = sum(by_gate.values()) or 1.0
    terminalreporter.write_line("time by gate, all combinations (share of the matrix's time):")
    for gate, seconds in by_gate.most_common():
        terminalreporter.write_line(f"  {seconds:7.1f} s  {seconds / total:4.0%}  {gate}")
    MATRIX_RESULTS.parent.mkdir(parents=True, exist_ok=True)
    MATRIX_RESULTS.write_text(
        json.dumps(
            {
                "wall_seconds": round(wall, 1),
                "combinations": len(_matrix),
                "failed": failed,
                "median_seconds": round(median, 1),
                "per_combination": {
                    c: {
                        "seconds": round(r.seconds, 1),
                        "passed": r.passed,
                        "failed": r.failed,
                        "gates": {gate: round(t, 1) for gate, t in r.gates.most_common()},
                    }
                    for c, r in sorted(_matrix.items())
                },
            },
            indent=2,
        )
        + "\n"
    )
    terminalreporter.write_line(f"written to {MATRIX_RESULTS.relative_to(TEMPLATE_ROOT)}")
