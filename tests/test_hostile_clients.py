"""Hostile clients against each auth mode, served by gunicorn under production settings.

What only a served process shows: gunicorn decides which peer may claim HTTPS,
Django's error e-mail goes out over real SMTP, request bodies arrive through
gunicorn's reader. The trusted proxy is 127.0.0.1 (FORWARDED_ALLOW_IPS'
default); a client talking to gunicorn directly connects from 127.0.0.2.
"""

from __future__ import annotations

import http.client
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.building import build
from tests.support.mailbox import Mailbox
from tests.support.production import release
from tests.support.selection import closest_to_defaults
from tests.support.server import gunicorn
from tests.support.signin import Served, create_verified_user, signed_in_headers

pytestmark = pytest.mark.slow

PROXY = "127.0.0.1"
DIRECT_CLIENT = "127.0.0.2"
NESTED_JSON = b"[" * 50_000 + b"]" * 50_000


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "served" in metafunc.fixturenames:
        combinations = closest_to_defaults(metafunc.config, "auth")
        metafunc.parametrize(
            "served",
            [pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.id)) for c in combinations],
            indirect=True,
            scope="module",
        )


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    with Mailbox() as box:
        yield box


@pytest.fixture(scope="module")
def served(
    request: pytest.FixtureRequest, copie_session: Any, mailbox: Mailbox
) -> Iterator[Served]:
    project = build(request.param, copie_session)
    env = {**release(project), "EMAIL_URL": mailbox.url}
    # Rate limits count in the cache: the combination's other served tests sign in
    # from 127.0.0.1 too, so this server counts under a key prefix of its own.
    env["CACHE_KEY_PREFIX"] = f"{project.combination.slug}-hostile-{uuid.uuid4().hex[:8]}"
    with gunicorn(project, env) as url:
        yield Served(project, url, env)


def send(
    served: Served,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None = None,
    *,
    source: str = PROXY,
) -> tuple[int, dict[str, str], bytes]:
    """One request to gunicorn from the loopback address *source*."""
    port = urlsplit(served.url).port
    connection = http.client.HTTPConnection(PROXY, port, timeout=30, source_address=(source, 0))
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def signed_in_json_headers(served: Served) -> dict[str, str]:
    """A signed-in JSON write, with the CSRF token session auth asks for."""
    email = f"hostile-{uuid.uuid4().hex[:8]}@example.com"
    create_verified_user(served, email)
    headers = {**signed_in_headers(served, email), "Content-Type": "application/json"}
    cookies = dict(part.split("=", 1) for part in headers.get("Cookie", "").split("; ") if part)
    if "__Secure-csrftoken" in cookies:
        headers["X-CSRFToken"] = cookies["__Secure-csrftoken"]
    return headers


def test_deeply_nested_or_oversized_json_is_a_400_with_the_json_error_body(
    served: Served,
) -> None:
    headers = signed_in_json_headers(served)
    oversized = json.dumps({"full_name": "x" * 3_000_000}).encode()

    for body, code in ((NESTED_JSON, "parse_error"), (oversized, "bad_request")):
        status, response_headers, content = send(served, "PATCH", "/api/users/me/", headers, body)

        assert status == 400, content[:500]
        assert response_headers["Content-Type"] == "application/json", content[:500]
        assert json.loads(content)["error"]["code"] == code


def test_only_the_trusted_proxy_can_say_a_request_came_over_https(served: Served) -> None:
    claims_https = {"Host": "app.example.com", "X-Forwarded-Proto": "https"}

    via_proxy = send(served, "GET", "/", claims_https, source=PROXY)
    direct = send(served, "GET", "/", claims_https, source=DIRECT_CLIENT)

    assert via_proxy[0] == 200
    # Not HTTPS, so production redirects it there.
    assert direct[0] == 301
    assert direct[1]["Location"] == "https://app.example.com/"


def test_a_foreign_host_header_is_a_logged_warning_not_an_email_to_admins(
    served: Served, mailbox: Mailbox
) -> None:
    log = served.project.path / "gunicorn.log"
    before = len(mailbox.messages)

    for _ in range(3):
        status, _headers, _content = send(
            served, "GET", "/", {"Host": "attacker.example", "X-Forwarded-Proto": "https"}
        )
        assert status == 400
    time.sleep(1)  # an error e-mail goes out before the response; leave it time to land

    assert mailbox.messages[before:] == []
    warnings = [
        json.loads(line)
        for line in log.read_text().splitlines()
        if "DisallowedHost" in line and line.startswith("{")
    ]
    assert len(warnings) >= 3, log.read_text()[-3000:]
    assert {line["level"] for line in warnings} == {"WARNING"}
