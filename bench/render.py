"""bench/render: ``copier copy`` time per supported combination.

    uv run python -m bench.render [--combination REGEX] [--repeat N]

Renders each selected combination N times (copy tasks skipped, as in the
tests), prints the median per combination and overall, and writes
bench/results/render.json. Times are wall-clock: on a shared machine compare
runs made side by side, not across days.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

import copier

from tests.support.combinations import TEMPLATE_ROOT, supported_combinations

RESULTS = TEMPLATE_ROOT / "bench" / "results" / "render.json"


def render_seconds(answers: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-render-") as destination:
        started = time.perf_counter()
        copier.run_copy(
            str(TEMPLATE_ROOT), Path(destination) / "project", data=answers, defaults=True,
            unsafe=True, quiet=True, vcs_ref="HEAD", skip_tasks=True,
        )  # fmt: skip
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--combination", default="", help="regex on combination ids")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    pattern = re.compile(options.combination)
    combinations = [c for c in supported_combinations() if pattern.search(c.id)]

    medians: dict[str, float] = {}
    for number, combination in enumerate(combinations, 1):
        runs = [render_seconds(combination.answers) for _ in range(options.repeat)]
        medians[combination.id] = statistics.median(runs)
        print(
            f"[{number}/{len(combinations)}] {combination.id:<48} {medians[combination.id]:.2f} s"
        )

    overall = statistics.median(medians.values())
    print(
        f"\n{len(medians)} combinations, {options.repeat} renders each: median {overall:.2f} s, "
        f"min {min(medians.values()):.2f} s, max {max(medians.values()):.2f} s"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "repeat": options.repeat,
                "median_seconds": round(overall, 3),
                "per_combination": {k: round(v, 3) for k, v in medians.items()},
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written to {RESULTS.relative_to(TEMPLATE_ROOT)}")


if __name__ == "__main__":
    main()
