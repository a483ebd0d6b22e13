"""bench/request_cost: the CPU one request costs, layer by layer, without a server.

    uv run python -m bench.request_cost [--rounds 11] [--requests 200]

bench/serve measures throughput under gunicorn, where the workers, wrk and the
services share the cores. This takes the server, the network and the scheduler
out: the default combination is rendered and released for each auth mode, as
in bench/serve, and bench/request_cost_probe.py calls its WSGI application
directly, in one process of its venv, with the production settings against the
real PostgreSQL and Redis. Targets are measured in interleaved rounds; each
row is CPU microseconds per request, min and median over the rounds:

- ceiling: bench/ceiling's one view (no apps, no middleware), in its own process
- /healthz: the project's liveness probe, answered by its first middleware
- DRF floor: /api/users/me/'s view with no authentication, permission or
  throttle, answering a constant: the middleware stack and DRF's dispatch
- /api/users/me/, no throttles: plus authentication (the user's row) and the
  profile's serialisation
- /api/users/me/: as served, plus the rate-limit check

The gaps between rows are what each layer costs. Prints a table, writes
bench/results/request_cost.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from bench.serve import CEILING, rendered_project
from tests.support.production import UNTHROTTLED, release
from tests.support.project import Project, explain

RESULTS = Path(__file__).parent / "results" / "request_cost.json"
PROBE = Path(__file__).parent / "request_cost_probe.py"


def probe(project: Project, which: str, rounds: int, requests: int) -> dict[str, list[float]]:
    """Run the probe in *project*'s venv for ``ceiling`` or its auth mode; CPU µs per round."""
    if which == "ceiling":
        env = {"PYTHONPATH": str(CEILING), "DJANGO_SETTINGS_MODULE": "ceiling_settings"}
    else:
        env = {**release(project), **UNTHROTTLED}
    result = project.run("python", str(PROBE), str(rounds), str(requests), which, env=env)
    if result.returncode != 0:
        raise SystemExit(explain(result))
    measured: dict[str, list[float]] = json.loads(result.stdout.strip().splitlines()[-1])
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--requests", type=int, default=200, help="requests per round")
    options = parser.parse_args()

    rounds: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-request-cost-") as workdir:
        for auth in ("session", "jwt"):
            project = rendered_project(auth, Path(workdir))
            if not rounds:
                rounds |= probe(project, "ceiling", options.rounds, options.requests * 5)
            measured = probe(project, auth, options.rounds, options.requests)
            if auth == "jwt":  # measured once is enough for what does not depend on auth
                measured = {k: v for k, v in measured.items() if "me/" in k}
            rounds |= measured

    ceiling = statistics.median(rounds["ceiling"])
    summary = {}
    for target, values in rounds.items():
        median = statistics.median(values)
        summary[target] = {
            "min_us": round(min(values)),
            "median_us": round(median),
            "times_the_ceiling": round(median / ceiling, 2),
        }
        print(
            f"{target:<42} min {min(values):>7.0f} µs  median {median:>7.0f} µs  "
            f"x{median / ceiling:.1f} the ceiling"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {"rounds": options.rounds, "requests_per_round": options.requests, "results": summary},
            indent=2,
        )
        + "\n"
    )
    print(f"written to {RESULTS.relative_to(Path(__file__).parent.parent)}")


if __name__ == "__main__":
    main()
