import json
import logging

import pytest
from django.test import Client

from apps.core.request_id import RequestIDLogFilter, choose_request_id, get_request_id

pytestmark = pytest.mark.django_db


def test_each_response_carries_a_fresh_request_id(client: Client) -> None:
    first = client.get("/")["X-Request-ID"]
    second = client.get("/")["X-Request-ID"]

    assert len(first) == 32
    assert first != second


def test_a_well_formed_incoming_request_id_is_kept(client: Client) -> None:
    response = client.get("/", headers={"x-request-id": "edge-7f3a9c21"})

    assert response["X-Request-ID"] == "edge-7f3a9c21"


def test_a_malformed_incoming_request_id_is_replaced() -> None:
    assert choose_request_id("bad id; drop table") != "bad id; drop table"
    assert choose_request_id("") != ""


def test_log_lines_are_json_with_the_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    from pythonjsonlogger.json import JsonFormatter

    handler = logging.StreamHandler()
    handler.addFilter(RequestIDLogFilter())
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s %(request_id)s"))
    logger = logging.getLogger("request-id-test")
    logger.addHandler(handler)
    try:
        logger.warning("outside a request")
    finally:
        logger.removeHandler(handler)

    line = json.loads(capsys.readouterr().err.strip())
    assert line["message"] == "outside a request"
    assert line["request_id"] == get_request_id() == "-"


def test_django_error_lines_carry_the_request_id(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RequestIDLogFilter())
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/no-such-page/", headers={"x-request-id": "trace-12345678"})

    assert response.status_code == 404
    records = [r for r in caplog.records if r.name == "django.request"]
    assert records
    assert {getattr(r, "request_id", None) for r in records} == {"trace-12345678"}


def test_the_request_id_is_cleared_when_the_request_finishes(client: Client) -> None:
    client.get("/", headers={"x-request-id": "finished-12345678"})

    assert get_request_id() == "-"
