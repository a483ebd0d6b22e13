"""bench/serve: the generated app under gunicorn, driven by wrk from loopback.

    uv run python -m bench.serve [--duration 10] [--connections 16]

For each auth mode, the default combination is rendered, installed and
released (migrate, collectstatic) against the real PostgreSQL and Redis, then
served by gunicorn with the project's own config/gunicorn.py and production
settings. wrk measures ``/healthz``, ``/readyz`` and a signed-in
``GET /api/users/me/``. Beside it, a one-view Django project (bench/ceiling)
is served by the same gunicorn config from the same venv: the ceiling. The API
rate limits are raised for the run, so throttling is paid for (a counter
incremented per request) but never hit (see UNTHROTTLED).

Each target gets a 2 s wrk run first, discarded: it lets every worker open
its database pool and cache connection before the measured run.

Prints requests/s, p50, p99, errors and the ratio to the ceiling, and writes
bench/results/serve.json. wrk and gunicorn share the machine's cores, as they
do for the ceiling; compare ratios, not absolute numbers across machines.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import copier

from tests.support.combinations import TEMPLATE_ROOT, Combination, default_combination
from tests.support.load import wrk
from tests.support.production import UNTHROTTLED, release
from tests.support.project import Project, explain
from tests.support.server import free_port, running
from tests.support.signin import Served, create_verified_user, signed_in_headers

RESULTS = TEMPLATE_ROOT / "bench" / "results" / "serve.json"
CEILING = TEMPLATE_ROOT / "bench" / "ceiling"
EMAIL = "bench@example.com"
WARM_UP_SECONDS = 2


@dataclass
class Measure:
    target: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx responses plus socket errors
    ratio_to_ceiling: float | None = None


def measure(url: str, headers: dict[str, str], duration: int, connections: int) -> Measure:
    """A discarded warm-up run, then the measured one."""
    wrk(url, headers, duration=WARM_UP_SECONDS, connections=connections)
    result = wrk(url, headers, duration=duration, connections=connections)
    return Measure(
        target=url,
        requests_per_second=result.requests_per_second,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        requests=result.requests,
        errors=result.errors,
    )


def rendered_project(auth: str, workdir: Path) -> Project:
    combination = Combination({**default_combination().answers, "auth": auth})
    destination = workdir / auth
    answers = {**combination.answers, "admin_url_path": "manage-bench/"}
    copier.run_copy(
        str(TEMPLATE_ROOT), destination, data=answers, defaults=True, unsafe=True, quiet=True,
        vcs_ref="HEAD", skip_tasks=True,
    )  # fmt: skip
    project = Project(destination, combination)
    installed = project.install()
    if installed.returncode != 0:
        raise SystemExit(explain(installed))
    return project


@contextmanager
def served(project: Project) -> Iterator[Served]:
    env = {**release(project), **UNTHROTTLED}
    port = free_port()
    command = ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
    with running(project, command, env, port=port, name="bench-gunicorn"):
        yield Served(project, f"http://127.0.0.1:{port}", env)


@contextmanager
def ceiling(project: Project) -> Iterator[str]:
    """The one-view project, served by *project*'s gunicorn config and venv."""
    port = free_port()
    env = {
        "PYTHONPATH": str(CEILING),
        "DJANGO_SETTINGS_MODULE": "ceiling_settings",
        "PORT": str(port),
    }
    command = ["gunicorn", "-c", str(project.path / "config" / "gunicorn.py"), "ceiling_wsgi"]
    with running(project, command, env, port=port, name="bench-ceiling"):
        yield f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")

    def run(url: str, headers: dict[str, str]) -> Measure:
        return measure(url, headers, options.duration, options.connections)

    results: dict[str, Measure] = {}
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as workdir:
        for auth in ("session", "jwt"):
            project = rendered_project(auth, Path(workdir))
            if "ceiling" not in results:
                with ceiling(project) as ceiling_url:
                    results["ceiling"] = run(f"{ceiling_url}/healthz", {})
            with served(project) as site:
                create_verified_user(site, EMAIL)
                https = {"X-Forwarded-Proto": "https"}
                if auth == "session":
                    results["/healthz"] = run(f"{site.url}/healthz", https)
                    results["/readyz"] = run(f"{site.url}/readyz", https)
                results[f"/api/users/me/ ({auth})"] = run(
                    f"{site.url}/api/users/me/", signed_in_headers(site, EMAIL)
                )

    ceiling_rate = results["ceiling"].requests_per_second
    for name, result in results.items():
        result.ratio_to_ceiling = round(result.requests_per_second / ceiling_rate, 3)
        print(
            f"{name:<28} {result.requests_per_second:>9.0f} req/s  p50 {result.p50_ms:>7.2f} ms  "
            f"p99 {result.p99_ms:>7.2f} ms  errors {result.errors:>5}  "
            f"x{result.ratio_to_ceiling:.2f} of the ceiling"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "duration_s": options.duration,
                "connections": options.connections,
                "results": {k: asdict(v) for k, v in results.items()},
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written to {RESULTS.relative_to(TEMPLATE_ROOT)}")


if __name__ == "__main__":
    main()
