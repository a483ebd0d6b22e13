"""Each auth mode, served by gunicorn under production settings, against real clients.

- schemathesis fuzzes the API from its own OpenAPI schema, signed in the way
  that mode signs in: no 5xx, every status and body as documented.
- For session auth, Debian's Chromium (driven by Playwright) signs up, follows
  the verification link from the e-mail, and lands on the signed-in page. The
  e-mail travels over real SMTP to an aiosmtpd server this test runs: the one
  stand-in here, for an e-mail provider.

Requests carry ``X-Forwarded-Proto: https`` as the TLS proxy in front would, so
the production HTTPS rules apply unchanged.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.building import build
from tests.support.combinations import TEMPLATE_ROOT
from tests.support.mailbox import Mailbox
from tests.support.processes import run
from tests.support.production import UNTHROTTLED, release
from tests.support.selection import closest_to_defaults
from tests.support.server import gunicorn
from tests.support.signin import (
    PASSWORD,
    Served,
    create_verified_user,
    jwt_access_token,
    session_cookies,
)

pytestmark = pytest.mark.slow

SCHEMATHESIS_SETTINGS = Path(__file__).parent / "support" / "schemathesis.toml"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for name in ("served", "site_for_a_browser"):
        if name not in metafunc.fixturenames:
            continue
        combinations = closest_to_defaults(metafunc.config, "auth")
        if "session_only" in metafunc.definition.keywords:
            combinations = [c for c in combinations if c.answers["auth"] == "session"]
        metafunc.parametrize(
            name,
            [pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.id)) for c in combinations],
            indirect=True,
        )


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    with Mailbox() as box:
        yield box


@pytest.fixture
def served(
    request: pytest.FixtureRequest, copie_session: Any, mailbox: Mailbox
) -> Iterator[Served]:
    project = build(request.param, copie_session)
    # The fuzzer calls the auth endpoints far more often than a person would.
    env = {**release(project), **UNTHROTTLED, "EMAIL_URL": mailbox.url}
    with gunicorn(project, env) as url:
        yield Served(project, url, env)


@dataclass
class Credentials:
    """How the fuzzer signs in: a schemathesis auth block, plus extra environment."""

    auth_toml: str
    env: dict[str, str]


def session_credentials(served: Served) -> Credentials:
    create_verified_user(served, "fuzz@example.com")
    cookies = session_cookies(served, "fuzz@example.com")
    return Credentials(
        f'[auth.openapi.cookieAuth]\napi_key = "{cookies["__Secure-sessionid"]}"\n',
        {
            "SCHEMATHESIS_HOOKS": "tests.support.schemathesis_hooks",
            "FUZZ_CSRF_TOKEN": cookies["__Secure-csrftoken"],
        },
    )


def jwt_credentials(served: Served) -> Credentials:
    create_verified_user(served, "fuzz@example.com")
    access = jwt_access_token(served, "fuzz@example.com")
    return Credentials(f'[auth.openapi.jwtAuth]\nbearer = "{access}"\n', {})


def test_schemathesis_finds_no_failure_in_the_signed_in_api(
    served: Served, tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    sign_in = {"session": session_credentials, "jwt": jwt_credentials}
    credentials = sign_in[served.project.answers["auth"]](served)
    config = tmp_path / "schemathesis.toml"
    config.write_text(SCHEMATHESIS_SETTINGS.read_text() + "\n" + credentials.auth_toml)
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{served.url}/api/schema/?format=json",
        "--max-examples",
        "40",
        "--seed",
        "20261123",
        "--workers",
        "1",
    ]
    for name, value in served.https_headers.items():
        command += ["-H", f"{name}: {value}"]

    result = run(command, cwd=TEMPLATE_ROOT, env={**os.environ, **credentials.env}, timeout=900)

    summary = result.stdout[-8000:] + result.stderr[-3000:]
    assert result.returncode == 0, summary
    cases = re.search(r"(\d+) generated", result.stdout)
    operations = re.search(r"Tested: (\d+)", result.stdout)
    assert cases and operations, summary
    record_property(
        "fuzz_run",
        f"{served.project.combination.id}: schemathesis tested {operations[1]} operations "
        f"with {cases[1]} generated cases, 0 failures",
    )


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_executable() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Chromium is not installed: .ci/run installs Debian's chromium package"
    return path


@pytest.fixture
def site_for_a_browser(
    request: pytest.FixtureRequest, copie_session: Any, mailbox: Mailbox
) -> Iterator[str]:
    """The production site on http://localhost, with the HTTPS redirect switched off.

    Chromium treats localhost as a secure origin, so the __Secure- cookies are
    kept over plain HTTP; everything else is the production configuration.
    """
    project = build(request.param, copie_session)
    env = {**release(project), "EMAIL_URL": mailbox.url, "DJANGO_SECURE_SSL_REDIRECT": "false"}
    with gunicorn(project, env) as url:
        yield url.replace("127.0.0.1", "localhost")


@pytest.mark.session_only
def test_a_person_signs_up_confirms_the_email_and_is_signed_in_in_a_real_browser(
    site_for_a_browser: str, mailbox: Mailbox, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    email = f"browser-{uuid.uuid4().hex[:8]}@example.com"
    base = site_for_a_browser
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable(), args=CHROMIUM_FLAGS
        )
        try:
            context = browser.new_context()
            page = context.new_page()
            page.goto(f"{base}/accounts/signup/")
            page.fill('input[name="email"]', email)
            page.fill('input[name="password1"]', PASSWORD)
            page.fill('input[name="password2"]', PASSWORD)
            page.locator('form button[type="submit"]').click()
            page.wait_for_load_state()
            assert "/accounts/confirm-email/" in page.url, page.content()[:3000]

            body = mailbox.wait_for(email).get_payload(decode=True).decode()
            link = re.search(r"https?://\S+(/accounts/confirm-email/[^/\s]+/)", body)
            assert link, body
            page.goto(base + link[1])
            page.locator('form button[type="submit"]').click()
            page.wait_for_load_state()
            page.screenshot(path=str(tmp_path / "signed-in.png"))

            assert page.url.rstrip("/") == base, page.url
            assert f"You are signed in as {email}" in page.inner_text("main")
            cookies = {cookie["name"]: cookie for cookie in context.cookies()}
            assert cookies["__Secure-sessionid"]["httpOnly"]
            assert cookies["__Secure-sessionid"]["secure"]
        finally:
            browser.close()
