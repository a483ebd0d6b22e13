"""Prometheus scrapes a served project and reports exactly what it served.

For each queue (and broker), and for SQLite: the project is served by gunicorn
with two workers under production settings, with its real worker on its real
broker, and Debian's Prometheus scrapes both every second with the bearer token
from METRICS_TOKEN. After a known number of requests, sign-ups and welcome
e-mails, Prometheus' query API must report exactly those counts, summed over
the gunicorn workers that served them; then one welcome e-mail task that raises
must be counted as failed (retried with huey, which retries every error).
"""

from __future__ import annotations

import secrets
import shutil
import socket
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.building import build
from tests.support.combinations import Combination
from tests.support.mailbox import Mailbox
from tests.support.production import fresh_database_url, production_env, run_release_steps
from tests.support.project import Project, explain
from tests.support.selection import closest_to_defaults
from tests.support.server import free_port, gunicorn, own_session
from tests.support.signin import Served, sign_up
from tests.support.waiting import wait_until
from tests.support.workers import worker

pytestmark = pytest.mark.slow

REQUESTS = 12
ME = "/api/users/me/"
SIGNUPS = 3


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "metrics_combination" in metafunc.fixturenames:
        queues = closest_to_defaults(metafunc.config, "task_queue", "celery_broker")
        sqlite = [
            c
            for c in closest_to_defaults(metafunc.config, "database")
            if c.answers["database"] == "sqlite"
        ]
        combinations = {c.id: c for c in [*queues, *sqlite]}.values()
        metafunc.parametrize(
            "metrics_combination",
            [pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.id)) for c in combinations],
        )


@contextmanager
def prometheus(workdir: Path, token: str, targets: dict[str, str]) -> Iterator[str]:
    """Debian's prometheus scraping *targets* (job: host:port) every second; yield its URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    jobs = "".join(
        f"  - job_name: {job}\n"
        "    authorization: {type: Bearer, credentials_file: token}\n"
        f"    static_configs: [{{targets: ['{target}']}}]\n"
        for job, target in targets.items()
    )
    (workdir / "token").write_text(token)
    config = workdir / "prometheus.yml"
    config.write_text(
        f"global: {{scrape_interval: 1s, scrape_timeout: 1s}}\nscrape_configs:\n{jobs}"
    )
    port = free_port()
    command = [
        shutil.which("prometheus") or "prometheus",
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with own_session(command, workdir / "prometheus.log"):
        url = f"http://127.0.0.1:{port}"
        wait_until(
            lambda: ready(url),
            timeout=30,
            message=f"prometheus never got ready:\n{(workdir / 'prometheus.log').read_text()}",
        )
        yield url


def ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/-/ready", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def query(url: str, promql: str) -> float | None:
    """The single value *promql* gives now, or None when it has no sample yet."""
    answer = requests.get(f"{url}/api/v1/query", params={"query": promql}, timeout=5).json()
    assert answer["status"] == "success", answer
    result = answer["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def targets_up(url: str) -> dict[str, str]:
    answer = requests.get(f"{url}/api/v1/targets", timeout=5).json()
    return {
        t["labels"]["job"]: t["health"] + (f" ({t['lastError']})" if t["lastError"] else "")
        for t in answer["data"]["activeTargets"]
    }


def anonymous_me(served: Served) -> int:
    """GET /api/users/me/ without credentials: a JSON 401 or 403, counted like any request."""
    return requests.get(f"{served.url}{ME}", headers=served.https_headers, timeout=10).status_code


@contextmanager
def one_worker_held(served: Served) -> Iterator[None]:
    """Inside the block one sync gunicorn worker waits for the rest of a request's
    headers, so the other worker serves every request; the held request completes,
    and is counted, when the block ends. Both workers have then served some."""
    address = urlsplit(served.url)
    headers = {"Host": address.netloc, **served.https_headers}
    head = f"GET {ME} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with socket.create_connection((address.hostname, address.port), timeout=10) as held:
        held.sendall(head.encode())
        # The listen queue is first in, first out: once a later request is answered,
        # a worker has accepted the held one and blocks reading it.
        assert anonymous_me(served) in (401, 403)
        yield
        held.sendall(b"Connection: close\r\n\r\n")
        status_line = held.makefile("rb").readline().decode()
    assert status_line.split()[1] in ("401", "403"), status_line


def test_prometheus_scrapes_exact_counts_summed_over_gunicorn_workers(
    metrics_combination: Combination,
    copie_session: Any,
    tmp_path: Path,
    record_property: pytest.RecordProperty,
) -> None:
    project = build(metrics_combination, copie_session)
    queue = project.answers["task_queue"]
    token = secrets.token_urlsafe(32)
    web_dir = tmp_path / "web-values"
    worker_port = free_port()
    with Mailbox() as mailbox:
        env = {
            **production_env(project),
            "DATABASE_URL": fresh_database_url(project, "metrics"),
            "EMAIL_URL": mailbox.url,
            "METRICS_TOKEN": token,
            "METRICS_WORKER_HOST": "127.0.0.1",
            "METRICS_WORKER_PORT": str(worker_port),
            "CELERY_TASK_DEFAULT_QUEUE": f"metrics-{uuid.uuid4().hex[:10]}",
            "HUEY_QUEUE_NAME": f"metrics_{uuid.uuid4().hex[:10]}",
            "DJANGO_Q_CLUSTER_NAME": f"metrics-{uuid.uuid4().hex[:10]}",
            "DJANGO_Q_WORKERS": "2",
        }
        run_release_steps(project, env)
        web_env = {
            **env,
            "PROMETHEUS_MULTIPROC_DIR": str(web_dir),
            "API_THROTTLE_ANON": "1000/minute",
        }
        with (
            gunicorn(project, web_env) as url,
            contextmanager_if(queue != "none", worker, project, env, "metrics-worker.log"),
        ):
            served = Served(project, url, web_env)
            targets = {"web": url.removeprefix("http://")}
            if queue != "none":
                targets["worker"] = f"127.0.0.1:{worker_port}"
            refused = requests.get(f"{url}/metrics", timeout=5)
            assert refused.status_code == 401, refused.text
            assert refused.json()["error"]["code"] == "not_authenticated"

            with prometheus(tmp_path / "prometheus", token, targets) as prom:
                # Held, probe and the rest: REQUESTS in all, over both gunicorn workers.
                with one_worker_held(served), ThreadPoolExecutor(max_workers=4) as pool:
                    statuses = list(pool.map(lambda _: anonymous_me(served), range(REQUESTS - 2)))
                assert set(statuses) <= {401, 403}, statuses
                if queue != "none":
                    for n in range(SIGNUPS):
                        sign_up(served, f"metrics-{n}@example.com")

                expected = {
                    'sum(http_requests_total{view="users-api:me",method="GET"})': REQUESTS,
                    'sum(http_request_duration_seconds_count{view="users-api:me"})': REQUESTS,
                    'sum(http_request_db_queries_count{view="users-api:me"})': REQUESTS,
                }
                if queue != "none":
                    welcome = 'task=~".*send_welcome_email"'
                    expected |= {
                        f"sum(tasks_enqueued_total{{{welcome}}})": SIGNUPS,
                        f"sum(tasks_succeeded_total{{{welcome}}})": SIGNUPS,
                        f"sum(task_queue_latency_seconds_count{{{welcome}}})": SIGNUPS,
                    }
                seen: dict[str, float | None] = {}

                def reported() -> bool:
                    seen.update({promql: query(prom, promql) for promql in expected})
                    return seen == {promql: float(n) for promql, n in expected.items()}

                try:
                    wait_until(reported, timeout=30, interval=0.5, message="")
                except AssertionError:
                    logs = "".join(
                        f"\n--- {log.name}\n{log.read_text()[-3000:]}"
                        for log in project.path.glob("*.log")
                    )
                    raise AssertionError(
                        f"Prometheus reported {seen}, expected {expected}; targets "
                        f"{targets_up(prom)}{logs}"
                    ) from None
                assert set(targets_up(prom).values()) == {"up"}, targets_up(prom)
                if queue != "none":
                    failures = fail_a_welcome_email(project, env, prom, queue)
    # The counts were summed over workers: both gunicorn workers wrote values.
    writers = {path.stem.rpartition("_")[2] for path in web_dir.glob("counter_*.db")}
    record_property(
        "metrics",
        f"{metrics_combination.id}: {REQUESTS} requests, {SIGNUPS if queue != 'none' else 0} "
        f"tasks; Prometheus reported {seen}"
        + (f", then {failures}" if queue != "none" else "")
        + f"; {len(writers)} gunicorn workers wrote counters",
    )
    assert len(writers) >= 2, writers


def fail_a_welcome_email(project: Project, env: dict[str, str], prom: str, queue: str) -> str:
    """Enqueue the welcome e-mail of a user id that is no UUID: the task raises.

    Celery and django-q2 retry only transient (SMTP, connection) errors, so it
    fails at once; huey retries every error, so its first attempt counts as
    retried (its next one is 10 s later). Returns what Prometheus reported.
    """
    welcome = 'task=~".*send_welcome_email"'
    enqueued = project.manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from apps.users.tasks import enqueue_welcome_email; "
        "enqueue_welcome_email('not-a-user-id')",
        env=env,
    )
    assert enqueued.returncode == 0, explain(enqueued)
    counter = "tasks_retried_total" if queue == "huey" else "tasks_failed_total"
    promql = f"sum({counter}{{{welcome}}})"
    wait_until(
        lambda: query(prom, promql) == 1.0,
        timeout=30,
        interval=0.5,
        message=f"{promql} never reported 1 after a failing task",
    )
    other = "tasks_failed_total" if queue == "huey" else "tasks_retried_total"
    assert query(prom, f"sum({other}{{{welcome}}})") in (None, 0.0)
    return f"{promql} = 1 for one failing task"


@contextmanager
def contextmanager_if(condition: bool, manager: Any, *args: Any) -> Iterator[None]:
    if not condition:
        yield
        return
    with manager(*args):
        yield
