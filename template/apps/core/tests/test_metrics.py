import socket
import urllib.request
from typing import Any

import pytest
from django.test import Client
from prometheus_client import REGISTRY
from pytest_django.fixtures import Settings

from apps.core import metrics
from apps.users import selectors
from apps.users.tests.factories import UserFactory

TOKEN = "a-metrics-token-long-enough-to-guess-never"


@pytest.fixture
def metrics_on(settings: Settings) -> None:
    settings.METRICS_TOKEN = TOKEN


def sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_page_is_not_found_while_metrics_are_off(client: Client) -> None:
    response = client.get("/metrics")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.usefixtures("metrics_on")
@pytest.mark.parametrize("authorization", ["", "Bearer wrong-token", f"Basic {TOKEN}"])
def test_metrics_page_refuses_a_request_without_the_token(
    client: Client, authorization: str
) -> None:
    response = client.get("/metrics", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
@pytest.mark.usefixtures("metrics_on")
def test_metrics_page_counts_requests_by_view_method_and_status(client: Client) -> None:
    labels = {"view": "users-api:me", "method": "GET"}
    before = sample("http_requests_total", {**labels, "status": "403"}) + sample(
        "http_requests_total", {**labels, "status": "401"}
    )
    queries_before = sample("http_request_db_queries_count", {"view": "users-api:me"})

    client.get("/api/users/me/", secure=True)
    page = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    after = sample("http_requests_total", {**labels, "status": "403"}) + sample(
        "http_requests_total", {**labels, "status": "401"}
    )
    assert after == before + 1
    assert sample("http_request_db_queries_count", {"view": "users-api:me"}) == queries_before + 1
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/plain")
    assert b'http_requests_total{method="GET",status=' in page.content


@pytest.mark.django_db
def test_profile_reads_count_a_cache_miss_then_a_hit() -> None:
    user = UserFactory()
    misses = sample("cache_reads_total", {"key": "users.profile", "result": "miss"})
    hits = sample("cache_reads_total", {"key": "users.profile", "result": "hit"})

    selectors.user_profile(user.pk)
    selectors.user_profile(user.pk)

    assert sample("cache_reads_total", {"key": "users.profile", "result": "miss"}) == misses + 1
    assert sample("cache_reads_total", {"key": "users.profile", "result": "hit"}) == hits + 1


def call(environ: dict[str, Any]) -> tuple[str, bytes]:
    answer: list[str] = []
    body = b"".join(metrics.metrics_app(environ, lambda status, headers: answer.append(status)))
    return answer[0], body


@pytest.mark.usefixtures("metrics_on")
def test_worker_metrics_page_answers_only_with_the_token() -> None:
    assert call({"PATH_INFO": "/metrics"})[0] == "404 Not Found"
    assert call({"PATH_INFO": "/", "HTTP_AUTHORIZATION": f"Bearer {TOKEN}"})[0] == "404 Not Found"
    status, body = call({"PATH_INFO": "/metrics", "HTTP_AUTHORIZATION": f"Bearer {TOKEN}"})
    assert status == "200 OK"
    assert b"# HELP tasks_succeeded_total" in body


@pytest.mark.usefixtures("metrics_on")
def test_a_worker_serves_its_metrics_on_its_port(settings: Settings) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.METRICS_WORKER_HOST = "127.0.0.1"
    settings.METRICS_WORKER_PORT = port

    metrics.serve_worker_metrics()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback)
        assert b"http_requests_total" in response.read()


def test_task_latency_is_observed_from_the_enqueue_time() -> None:
    count = sample("task_queue_latency_seconds_count", {"task": "example"})

    metrics.record_task_started("example", None)
    metrics.record_task_started("example", 0.0)

    assert sample("task_queue_latency_seconds_count", {"task": "example"}) == count + 1
