import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client
from pytest_django import DjangoDbBlocker
from pytest_django.fixtures import DjangoAssertNumQueries, Settings

from apps.core import health
from apps.core.tests.hung_server import HungServer


@pytest.fixture(autouse=True, scope="module")
def database_without_test_transactions(
    django_db_setup: None, django_db_blocker: DjangoDbBlocker
) -> Iterator[None]:
    """The test database as it is: the checks run in threads with connections of their
    own, so no test transaction may hold SQLite's write lock (the database cache writes)
    meanwhile. They write nothing a test reads, so nothing is flushed between tests."""
    with django_db_blocker.unblock():
        yield


hung_server: HungServer | None = None
runs = 0
# What the checks and the clients they load did, in order.
events: list[str] = []


def check_hung_service() -> None:
    """Ask the hung server a question and wait for the answer, as a client library does."""
    assert hung_server is not None
    with socket.create_connection(("127.0.0.1", hung_server.port)) as client:
        client.sendall(b"PING\r\n")
        client.recv(1)


def check_slow_service() -> None:
    global runs
    runs += 1
    time.sleep(0.3)


@pytest.fixture(autouse=True)
def fresh_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets a probe of its own: no result, and no check still hung, that an
    earlier test left behind (its thread may outlive the test on a loaded machine)."""
    global runs
    runs = 0
    monkeypatch.setattr(health, "probe", health.ReadinessProbe())


@pytest.fixture
def hung_dependency(settings: Settings) -> Iterator[HungServer]:
    global hung_server
    hung_server = HungServer()
    settings.READINESS_CHECKS = [
        "apps.core.health.check_database",
        f"{__name__}.check_hung_service",
    ]
    try:
        yield hung_server
    finally:
        hung_server.close()
        hung_server = None


def check_cache_that_fails() -> None:
    raise ConnectionError("cache server went away")


def check_search() -> None:
    raise ConnectionError("search server went away")


def test_liveness_answers_without_touching_dependencies(
    client: Client, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_probes_answer_any_host_header(client: Client) -> None:
    # Orchestrators probe pods by IP; ALLOWED_HOSTS must not turn that into a 400.
    response = client.get("/healthz", headers={"host": "10.1.2.3:8000"})

    assert response.status_code == 200


def test_readiness_checks_every_configured_dependency(client: Client, settings: Settings) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["failing"] == []
    expected = {
        path.rpartition(".")[2].removeprefix("check_") for path in settings.READINESS_CHECKS
    }
    assert set(body["checks"]) == expected
    assert {"database", "cache"} <= expected


def test_readiness_is_503_and_names_the_failing_dependency(
    client: Client, settings: Settings
) -> None:
    settings.READINESS_CHECKS = [
        "apps.core.health.check_database",
        f"{__name__}.check_cache_that_fails",
    ]

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["cache_that_fails"]
    assert body["checks"]["database"] == "ok"
    assert "went away" not in response.content.decode()  # details stay in the logs


def test_an_optional_dependency_down_leaves_the_site_ready_but_degraded(
    client: Client, settings: Settings
) -> None:
    settings.READINESS_CHECKS = ["apps.core.health.check_database", f"{__name__}.check_search"]
    settings.READINESS_OPTIONAL = ["search"]

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "search": "unavailable"},
        "failing": ["search"],
    }


def test_probes_only_answer_reads(client: Client) -> None:
    assert client.post("/healthz").status_code != 200


def test_readiness_answers_within_its_timeout_when_a_dependency_hangs(
    client: Client, settings: Settings, hung_dependency: HungServer
) -> None:
    settings.READINESS_TIMEOUT_SECONDS = 1.0

    started = time.monotonic()
    response = client.get("/readyz")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "hung_service": "unavailable"}
    assert 1.0 <= elapsed < 2.0


def test_a_check_still_hung_is_not_started_again_by_the_next_probe(
    client: Client, settings: Settings, hung_dependency: HungServer
) -> None:
    settings.READINESS_TIMEOUT_SECONDS = 1.0
    settings.READINESS_CACHE_SECONDS = 0
    client.get("/readyz")
    # Only the hung check from here, so the time measured is the probe's own
    # and not a database round trip on a loaded machine.
    settings.READINESS_CHECKS = [f"{__name__}.check_hung_service"]

    started = time.monotonic()
    response = client.get("/readyz")

    assert time.monotonic() - started < 0.5
    assert response.json()["checks"] == {"hung_service": "unavailable"}
    assert hung_dependency.accepted() == 1


def check_recorded() -> None:
    events.append("check ran")


def test_the_cache_client_is_loaded_before_any_check_runs_in_a_thread(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    class RecordingCaches(dict[str, object]):
        def __getitem__(self, alias: str) -> object:
            events.append(f"cache {alias} loaded")
            return object()

    events.clear()
    monkeypatch.setattr(health, "caches", RecordingCaches())
    settings.READINESS_CHECKS = [f"{__name__}.check_recorded"]

    assert health.run_readiness_checks() == {"recorded": "ok"}
    assert events == ["cache default loaded", "check ran"]


def test_a_burst_of_probes_costs_one_run_of_the_checks(settings: Settings) -> None:
    settings.READINESS_CHECKS = [f"{__name__}.check_slow_service"]
    # Long enough that a thread started late on a loaded machine still shares the run.
    settings.READINESS_CACHE_SECONDS = 60

    with ThreadPoolExecutor(max_workers=5) as pool:
        responses = list(pool.map(lambda _: Client().get("/readyz"), range(5)))

    assert [response.status_code for response in responses] == [200] * 5
    assert runs == 1


def test_a_result_is_reused_only_for_its_cache_lifetime(settings: Settings) -> None:
    settings.READINESS_CHECKS = [f"{__name__}.check_slow_service"]
    settings.READINESS_CACHE_SECONDS = 0.5

    Client().get("/readyz")
    Client().get("/readyz")
    assert runs == 1
    time.sleep(0.5)
    Client().get("/readyz")
    assert runs == 2


def test_an_unavailable_answer_is_not_reported_as_a_server_error(
    client: Client, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.READINESS_CHECKS = [f"{__name__}.check_cache_that_fails"]

    response = client.get("/readyz")

    assert response.status_code == 503
    assert [record for record in caplog.records if record.name == "django.request"] == []
