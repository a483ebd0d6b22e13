"""The served app under sustained load: no failed request, no error, no growth.

For each auth mode, the combination closest to the defaults is released and
served by gunicorn exactly as its config/gunicorn.py says (production
settings, the real PostgreSQL and Redis), then driven by wrk from loopback
through a signed-in mix of pages, probes and API reads.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.building import build
from tests.support.load import rotating_paths, wrk
from tests.support.production import UNTHROTTLED, release
from tests.support.project import Project
from tests.support.selection import closest_to_defaults
from tests.support.server import free_port, running
from tests.support.signin import Served, create_verified_user, signed_in_headers

pytestmark = pytest.mark.slow

SOAK_SECONDS = 60
SOAK_CONNECTIONS = 16
# The seed's ceiling for one web process.
RSS_LIMIT_MB = 256
MEMORY_REQUESTS = 10_000
# What a worker may gain between its first and its last thousand requests:
# allocator noise, not a leak (a leak of 1 KiB per request would add 9 MiB).
RSS_GROWTH_LIMIT_MB = 2.0


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "auth_combination" in metafunc.fixturenames:
        metafunc.parametrize(
            "auth_combination",
            [
                pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.id))
                for c in closest_to_defaults(metafunc.config, "auth")
            ],
        )


@dataclass
class Site:
    served: Served
    log: Path
    headers: dict[str, str]
    paths: list[str]
    signed_in_at: int = 0  # log lines before the load: starting up and signing in

    def log_lines(self) -> list[str]:
        """What gunicorn and Django logged since the user signed in."""
        return self.log.read_text().splitlines()[self.signed_in_at :]

    def access_lines(self) -> list[dict[str, Any]]:
        """gunicorn's access log: one JSON object per answered request.

        The application's own JSON lines start alike; only gunicorn's name the remote.
        """
        records = [json.loads(line) for line in self.log_lines() if line.startswith('{"time"')]
        return [record for record in records if "remote" in record]


@contextmanager
def site(project: Project, email: str, **gunicorn_env: str) -> Iterator[Site]:
    """The released project under gunicorn, a signed-in staff user, and the paths to load."""
    env = {**release(project), **UNTHROTTLED, **gunicorn_env}
    port = free_port()
    command = ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
    with running(project, command, env, port=port, name="soak-gunicorn") as log:
        served = Served(project, f"http://127.0.0.1:{port}", env)
        create_verified_user(served, email)
        headers = signed_in_headers(served, email)
        me = requests.get(f"{served.url}/api/users/me/", headers=headers, timeout=10)
        assert me.status_code == 200, me.text
        paths = [
            "/healthz",
            "/readyz",
            "/",
            "/api/users/me/",
            f"/api/users/{me.json()['id']}/",  # the cached profile read
            "/api/users/",  # staff list, one page
        ]
        yield Site(served, log, headers, paths, signed_in_at=len(log.read_text().splitlines()))


def problems(lines: list[str]) -> list[str]:
    """Log lines that report trouble: gunicorn's and Django's warnings and errors."""
    gunicorn_trouble = re.compile(r"\[(WARNING|ERROR|CRITICAL)\]")
    found = []
    for line in lines:
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("level") in ("WARNING", "ERROR", "CRITICAL"):
                found.append(line)
        elif gunicorn_trouble.search(line) or "Traceback" in line:
            found.append(line)
    return found


def test_a_minute_of_load_recycles_workers_without_failing_a_request(
    auth_combination: Any, copie_session: Any, record_property: pytest.RecordProperty
) -> None:
    project = build(auth_combination, copie_session)
    with site(project, "soak@example.com") as served_site:
        script = rotating_paths(served_site.paths, project.path)
        result = wrk(
            served_site.served.url,
            served_site.headers,
            duration=SOAK_SECONDS,
            connections=SOAK_CONNECTIONS,
            script=script,
        )
        time.sleep(1)  # the last access lines reach the log
        lines = served_site.log_lines()
        answered = served_site.access_lines()

    recycled = sum("Autorestarting worker after current request" in line for line in lines)
    statuses = {line["status"] for line in answered}
    record_property(
        "soak",
        f"{auth_combination.id}: {result.requests} requests in {SOAK_SECONDS} s "
        f"({result.requests_per_second:.0f}/s, p99 {result.p99_ms:.0f} ms) over "
        f"{len(served_site.paths)} paths; {result.errors} failed; statuses {sorted(statuses)}; "
        f"{recycled} workers recycled; {len(problems(lines))} warning or error lines",
    )
    assert result.requests > 0
    assert result.errors == 0, result
    # Every request gunicorn answered was a 200, and none went unlogged.
    assert statuses == {200}, [line for line in answered if line["status"] != 200][:5]
    assert len(answered) >= result.requests
    # max_requests recycled workers under the load, and no request noticed.
    assert recycled >= 1, "\n".join(lines[-20:])
    assert problems(lines) == []


def worker_rss_mb(log: Path) -> float:
    """The resident memory of the one worker the log says was booted."""
    text = log.read_text()
    pids = re.findall(r"Booting worker with pid: (\d+)", text)
    assert len(pids) == 1, [line for line in text.splitlines() if not line.startswith("{")]
    status = Path(f"/proc/{pids[0]}/status").read_text()
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert found, status
    return int(found[1]) / 1024


def test_a_worker_stays_under_256_mb_over_10000_requests_and_does_not_grow(
    auth_combination: Any, copie_session: Any, record_property: pytest.RecordProperty
) -> None:
    project = build(auth_combination, copie_session)
    # One worker that is never recycled: all the requests land in one process.
    with site(
        project, "memory@example.com", WEB_CONCURRENCY="1", GUNICORN_MAX_REQUESTS="0"
    ) as served_site:
        script = rotating_paths(served_site.paths, project.path)

        def load_until(answered: int) -> int:
            """Drive the worker in short runs until it has answered *answered* requests."""
            while (count := len(served_site.access_lines())) < answered:
                result = wrk(
                    served_site.served.url,
                    served_site.headers,
                    duration=1,
                    connections=2,
                    threads=1,
                    script=script,
                )
                assert result.errors == 0, result
            return count

        first = load_until(1000)
        after_the_first_thousand = worker_rss_mb(served_site.log)
        served = load_until(MEMORY_REQUESTS)
        after_the_last_thousand = worker_rss_mb(served_site.log)

    growth = after_the_last_thousand - after_the_first_thousand
    record_property(
        "soak",
        f"{project.combination.id}: one worker: RSS {after_the_first_thousand:.1f} MB after "
        f"{first} requests, {after_the_last_thousand:.1f} MB after {served} ({growth:+.1f} MB)",
    )
    assert served >= MEMORY_REQUESTS
    assert after_the_last_thousand < RSS_LIMIT_MB
    assert growth <= RSS_GROWTH_LIMIT_MB
