import pytest
from django.test import Client
from pytest_django.fixtures import DjangoAssertNumQueries, Settings

pytestmark = pytest.mark.django_db


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
