"""Outages under a running app: the cache server dies, PostgreSQL or MySQL restarts, a broker hangs.

The project is served by gunicorn under production settings against private
servers this test starts (tests/support/private_servers.py), so taking one
down never disturbs the combinations tested beside it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.building import build
from tests.support.combinations import Combination
from tests.support.hung_server import hung_server
from tests.support.private_servers import (
    PrivateDatabase,
    PrivateMariaDB,
    PrivatePostgres,
    private_cache,
    private_database,
)
from tests.support.production import fresh_database_url, production_env, run_release_steps
from tests.support.selection import closest_to_defaults
from tests.support.server import gunicorn
from tests.support.signin import (
    Served,
    create_verified_user,
    post_login_form,
    signed_in_headers,
)
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

EMAIL = "resilience@example.com"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    def parametrize(name: str, combinations: list[Combination]) -> None:
        metafunc.parametrize(
            name,
            [pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.id)) for c in combinations],
        )

    if "cache_combination" in metafunc.fixturenames:
        by_cache = closest_to_defaults(metafunc.config, "cache")
        parametrize("cache_combination", [c for c in by_cache if c.answers["cache"] != "database"])
    if "queue_combination" in metafunc.fixturenames:
        by_queue = closest_to_defaults(metafunc.config, "task_queue", "celery_broker")
        parametrize("queue_combination", [c for c in by_queue if c.answers["task_queue"] != "none"])
    for name, service in (("postgres_combination", "postgresql"), ("mysql_combination", "mysql")):
        if name in metafunc.fixturenames:
            by_database = closest_to_defaults(metafunc.config, "database")
            parametrize(name, [c for c in by_database if service in c.services])


def get(served: Served, path: str, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.get(
        served.url + path,
        headers=headers or served.https_headers,
        timeout=10,
        allow_redirects=False,
    )


def readiness(served: Served) -> tuple[int, dict[str, Any]]:
    response = get(served, "/readyz")
    return response.status_code, response.json()


def booted_workers(log: str) -> int:
    return len(re.findall(r"Booting worker with pid", log))


@pytest.fixture
def served_with_private_cache(
    cache_combination: Combination, copie_session: Any
) -> Iterator[tuple[Served, Any]]:
    project = build(cache_combination, copie_session)
    with private_cache(cache_combination.answers["cache"]) as cache_server:
        env = {
            **production_env(project),
            **cache_server.env,
            "DATABASE_URL": fresh_database_url(project, "cache_outage"),
        }
        run_release_steps(project, env)
        with gunicorn(project, env) as url:
            served = Served(project, url, env)
            create_verified_user(served, EMAIL)
            yield served, cache_server


def test_a_cache_outage_slows_the_site_down_but_never_takes_it_down(
    served_with_private_cache: tuple[Served, Any], record_property: pytest.RecordProperty
) -> None:
    served, cache_server = served_with_private_cache
    status, body = readiness(served)
    assert (status, body["status"], body["checks"]["cache"]) == (200, "ok", "ok"), body
    signed_in = signed_in_headers(served, EMAIL)
    me = get(served, "/api/users/me/", signed_in).json()

    cache_server.stop()

    # Pages, signed-in API calls and cached reads all still answer.
    assert get(served, "/healthz").status_code == 200
    assert get(served, "/").status_code == 200
    assert get(served, "/api/users/me/", signed_in).json() == me
    assert get(served, f"/api/users/{me['id']}/", signed_in).status_code == 200
    if served.project.answers["auth"] == "jwt":
        # DRF's throttles fail open: a new token is issued without the cache.
        fresh = signed_in_headers(served, EMAIL)
        assert get(served, "/api/users/me/", fresh).json() == me
    else:
        # allauth cannot enforce its login rate limits without the cache, so it
        # refuses new sign-ins (fail closed) while signed-in users carry on.
        assert post_login_form(served, EMAIL)[1].status_code == 429
    status, body = readiness(served)
    assert status == 200, body
    assert body["status"] == "degraded"
    assert body["failing"] == ["cache"]
    assert body["checks"]["cache"] == "unavailable"
    assert body["checks"]["database"] == "ok"

    cache_server.start()
    recovery = wait_until(
        lambda: readiness(served)[1]["status"] == "ok", timeout=30, message="/readyz never ok again"
    )
    record_property(
        "resilience",
        f"{served.project.combination.id}: {cache_server.name} killed: site served throughout, "
        f"/readyz degraded naming the cache; ready again {recovery:.2f} s after it restarted",
    )


ServedOnDatabase = tuple[Served, PrivateDatabase, Path]


@contextmanager
def served_on_private_database(
    combination: Combination, copie_session: Any, kind: type[PrivateDatabase]
) -> Iterator[ServedOnDatabase]:
    """The project served by gunicorn on a database server of *kind*; and gunicorn's log."""
    project = build(combination, copie_session)
    with private_database(kind) as database:
        database.create_database("app")
        env = {**production_env(project), "DATABASE_URL": database.database_url("app")}
        run_release_steps(project, env)
        with gunicorn(project, env) as url:
            served = Served(project, url, env)
            create_verified_user(served, EMAIL)
            yield served, database, project.path / "gunicorn.log"


@pytest.fixture
def served_on_private_postgres(
    postgres_combination: Combination, copie_session: Any
) -> Iterator[ServedOnDatabase]:
    with served_on_private_database(postgres_combination, copie_session, PrivatePostgres) as served:
        yield served


@pytest.fixture
def served_on_private_mysql(
    mysql_combination: Combination, copie_session: Any
) -> Iterator[ServedOnDatabase]:
    with served_on_private_database(mysql_combination, copie_session, PrivateMariaDB) as served:
        yield served


def assert_reconnects_after_restart(
    served_on: ServedOnDatabase, server_name: str, record_property: pytest.RecordProperty
) -> None:
    """Restart the database under a serving app: it serves again, with no failed request after."""
    served, database, log = served_on
    signed_in = signed_in_headers(served, EMAIL)
    # Every worker holds open database connections before the restart.
    for _ in range(20):
        assert get(served, "/api/users/me/", signed_in).status_code == 200
    workers_before = booted_workers(log.read_text())

    database.restart()
    restarted_at = time.monotonic()

    def serving_again() -> bool:
        return (
            get(served, "/api/users/me/", signed_in).status_code == 200
            and readiness(served)[0] == 200
        )

    recovery = wait_until(serving_again, timeout=30, message="not serving again")
    # Once back, it stays back: every worker has replaced its dead connections.
    failures = [
        response.status_code
        for response in (get(served, "/api/users/me/", signed_in) for _ in range(40))
        if response.status_code != 200
    ]
    assert failures == [], failures
    assert booted_workers(log.read_text()) == workers_before, "gunicorn replaced a worker"
    record_property(
        "resilience",
        f"{served.project.combination.id}: {server_name} restarted under load: serving again "
        f"{recovery:.2f} s after it was back ({time.monotonic() - restarted_at:.1f} s "
        "incl. 40 checks), no worker restarted",
    )


def test_the_app_reconnects_after_postgresql_restarts_without_being_restarted(
    served_on_private_postgres: ServedOnDatabase, record_property: pytest.RecordProperty
) -> None:
    assert_reconnects_after_restart(served_on_private_postgres, "PostgreSQL", record_property)


def test_the_app_reconnects_after_mysql_restarts_without_being_restarted(
    served_on_private_mysql: ServedOnDatabase, record_property: pytest.RecordProperty
) -> None:
    # Persistent connections (CONN_MAX_AGE), each checked before reuse (CONN_HEALTH_CHECKS).
    assert_reconnects_after_restart(served_on_private_mysql, "MariaDB", record_property)


# /readyz's bound (READINESS_TIMEOUT_SECONDS' default) and what a loaded
# machine may add to a request.
READINESS_TIMEOUT = 3.0
SLACK = 1.5


def hung_broker_env(project: Any, port: int) -> dict[str, str]:
    """The broker variable of *project*'s queue, pointed at a listener that never answers."""
    queue, broker = project.answers["task_queue"], project.answers.get("celery_broker")
    if queue == "celery" and broker == "rabbitmq":
        return {"CELERY_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{port}//"}
    variable = {
        "celery": "CELERY_BROKER_URL",
        "huey": "HUEY_REDIS_URL",
        "django-q2": "DJANGO_Q_REDIS_URL",
    }[queue]
    return {variable: f"redis://127.0.0.1:{port}/0"}


def timed_get(served: Served, path: str) -> tuple[int, float, dict[str, Any]]:
    started = time.monotonic()
    response = get(served, path)
    return response.status_code, time.monotonic() - started, response.json()


def test_a_hung_broker_fails_readyz_within_its_bound_and_never_holds_healthz(
    queue_combination: Combination, copie_session: Any, record_property: pytest.RecordProperty
) -> None:
    project = build(queue_combination, copie_session)
    env = {**production_env(project), "DATABASE_URL": fresh_database_url(project, "hung_broker")}
    run_release_steps(project, env)
    with (
        hung_server() as hung,
        gunicorn(project, {**env, **hung_broker_env(project, hung.port)}) as url,
    ):
        served = Served(project, url, env)
        # Three probes at once take both sync workers; liveness comes in behind them.
        with ThreadPoolExecutor(max_workers=4) as pool:
            probes = [pool.submit(timed_get, served, "/readyz") for _ in range(3)]
            time.sleep(0.2)
            liveness = pool.submit(timed_get, served, "/healthz")
            first = [probe.result() for probe in probes]
            live_status, live_seconds, _ = liveness.result()
        for status, seconds, body in first:
            assert (status, body["failing"]) == (503, ["broker"]), body
            assert seconds < READINESS_TIMEOUT + SLACK, first
        assert live_status == 200
        assert live_seconds < READINESS_TIMEOUT + SLACK

        # The hang is known now: further probes answer at once, and so does liveness.
        with ThreadPoolExecutor(max_workers=4) as pool:
            later = list(pool.map(lambda _: timed_get(served, "/readyz"), range(3)))
            live_again = timed_get(served, "/healthz")
        assert all(status == 503 and seconds < SLACK for status, seconds, _ in later), later
        assert live_again[0] == 200
        assert live_again[1] < SLACK
    record_property(
        "resilience",
        f"{project.combination.id}: broker hung: 3 concurrent /readyz 503 in "
        f"{max(seconds for _, seconds, _ in first):.2f} s, /healthz 200 in {live_seconds:.2f} s; "
        f"then /readyz in {max(seconds for _, seconds, _ in later):.2f} s, "
        f"/healthz in {live_again[1]:.2f} s",
    )
