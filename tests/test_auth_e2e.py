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
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import build, selected_combinations
from tests.support.combinations import TEMPLATE_ROOT, Combination, default_combination
from tests.support.production import release
from tests.support.project import Project, explain
from tests.support.server import free_port, gunicorn

pytestmark = pytest.mark.slow

PASSWORD = "a-long-and-unusual-passphrase-41"
SCHEMATHESIS_SETTINGS = Path(__file__).parent / "support" / "schemathesis.toml"
# The fuzzer calls the auth endpoints far more often than a person would.
UNTHROTTLED = {
    "API_THROTTLE_AUTH": "100000/minute",
    "API_THROTTLE_ANON": "100000/minute",
    "API_THROTTLE_USER": "100000/minute",
}


def one_per_auth_mode(config: pytest.Config) -> list[Combination]:
    """For each auth choice, the selected combination closest to the defaults."""
    defaults = default_combination().answers
    chosen: dict[str, Combination] = {}
    for combination in selected_combinations(config):
        auth = combination.answers["auth"]
        distance = sum(combination.answers.get(k) != v for k, v in defaults.items())
        best = chosen.get(auth)
        if best is None or distance < sum(best.answers.get(k) != v for k, v in defaults.items()):
            chosen[auth] = combination
    return list(chosen.values())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for name in ("served", "site_for_a_browser"):
        if name not in metafunc.fixturenames:
            continue
        combinations = one_per_auth_mode(metafunc.config)
        if "session_only" in metafunc.definition.keywords:
            combinations = [c for c in combinations if c.answers["auth"] == "session"]
        metafunc.parametrize(
            name,
            [pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.id)) for c in combinations],
            indirect=True,
        )


@dataclass
class Served:
    project: Project
    url: str
    env: dict[str, str]

    @property
    def https_headers(self) -> dict[str, str]:
        """What the TLS-terminating proxy adds, plus the browser's same-origin headers."""
        origin = self.url.replace("http://", "https://")
        return {"X-Forwarded-Proto": "https", "Origin": origin, "Referer": origin + "/"}


class Mailbox:
    """An SMTP server on loopback that keeps what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                outer.messages.append(message_from_bytes(envelope.content))
                return "250 Message accepted"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> Mailbox:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def wait_for(self, recipient: str, timeout: float = 30) -> Any:
        """The first message to *recipient*, once it has arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if recipient in message["To"]:
                    return message
            time.sleep(0.2)
        raise AssertionError(f"no e-mail to {recipient} within {timeout} s: {self.messages}")


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    with Mailbox() as box:
        yield box


@pytest.fixture
def served(
    request: pytest.FixtureRequest, copie_session: Any, mailbox: Mailbox
) -> Iterator[Served]:
    project = build(request.param, copie_session)
    env = {**release(project), **UNTHROTTLED, "EMAIL_URL": mailbox.url}
    with gunicorn(project, env) as url:
        yield Served(project, url, env)


def create_verified_user(served: Served, email: str) -> None:
    """A user whose e-mail is confirmed, made with the project's own manage.py."""
    script = (
        "from apps.users.models import User\n"
        f"user = User.objects.create_user(email={email!r}, password={PASSWORD!r}, is_staff=True)\n"
    )
    if served.project.answers["auth"] == "session":
        script += (
            "from allauth.account.models import EmailAddress\n"
            "EmailAddress.objects.create(\n"
            "    user=user, email=user.email, verified=True, primary=True\n"
            ")\n"
        )
    result = served.project.manage("shell", "-c", script, env=served.env)
    assert result.returncode == 0, explain(result)


@dataclass
class Credentials:
    """How the fuzzer signs in: a schemathesis auth block, plus extra environment."""

    auth_toml: str
    env: dict[str, str]


def session_credentials(served: Served) -> Credentials:
    """Sign in through the allauth login page, as a browser does."""
    create_verified_user(served, "fuzz@example.com")
    headers = served.https_headers
    page = requests.get(f"{served.url}/accounts/login/", headers=headers, timeout=10)
    cookies = dict(page.cookies)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:2000]
    signed_in = requests.post(
        f"{served.url}/accounts/login/",
        data={"login": "fuzz@example.com", "password": PASSWORD, "csrfmiddlewaretoken": token[1]},
        # Secure cookies travel only over HTTPS; the proxy header makes this "HTTPS".
        headers={**headers, "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())},
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 302, signed_in.text[:2000]
    cookies.update(signed_in.cookies)
    return Credentials(
        f'[auth.openapi.cookieAuth]\napi_key = "{cookies["__Secure-sessionid"]}"\n',
        {
            "SCHEMATHESIS_HOOKS": "tests.support.schemathesis_hooks",
            "FUZZ_CSRF_TOKEN": cookies["__Secure-csrftoken"],
        },
    )


def jwt_credentials(served: Served) -> Credentials:
    create_verified_user(served, "fuzz@example.com")
    tokens = requests.post(
        f"{served.url}/api/auth/token/",
        json={"email": "fuzz@example.com", "password": PASSWORD},
        headers=served.https_headers,
        timeout=10,
    )
    assert tokens.status_code == 200, tokens.text
    return Credentials(f'[auth.openapi.jwtAuth]\nbearer = "{tokens.json()["access"]}"\n', {})


def test_schemathesis_finds_no_failure_in_the_signed_in_api(
    served: Served, tmp_path: Path, record_property: pytest.RecordProperty
) -> None:
    sign_in = {"session": session_credentials, "jwt": jwt_credentials}
    credentials = sign_in[served.project.answers["auth"]](served)
    config = tmp_path / "schemathesis.toml"
    config.write_text(SCHEMATHESIS_SETTINGS.read_text() + "\n" + credentials.auth_toml)
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config),
        "run", f"{served.url}/api/schema/?format=json",
        "--max-examples", "40", "--seed", "20261123", "--workers", "1",
    ]  # fmt: skip
    for name, value in served.https_headers.items():
        command += ["-H", f"{name}: {value}"]

    result = subprocess.run(
        command, cwd=TEMPLATE_ROOT, env={**os.environ, **credentials.env},
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip

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
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


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
