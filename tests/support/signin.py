"""A generated project served under production settings, and signing in to it over HTTP."""

from __future__ import annotations

import re
from dataclasses import dataclass

import requests

from tests.support.project import Project, explain

PASSWORD = "a-long-and-unusual-passphrase-41"


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


def create_verified_user(served: Served, email: str) -> None:
    """A staff user whose e-mail is confirmed, made with the project's own manage.py."""
    script = verified_user_script(served.project.answers["auth"], email, staff=True)
    result = served.project.manage("shell", "-c", script, env=served.env)
    assert result.returncode == 0, explain(result)


def verified_user_script(auth: str, email: str, *, staff: bool) -> str:
    """``manage.py shell`` code creating a user with PASSWORD whose e-mail is confirmed."""
    script = (
        "from apps.users.models import User\n"
        f"user = User.objects.create_user(email={email!r}, password={PASSWORD!r}, "
        f"is_staff={staff!r})\n"
    )
    if auth == "session":  # allauth signs in only a confirmed address
        script += (
            "from allauth.account.models import EmailAddress\n"
            "EmailAddress.objects.create(\n"
            "    user=user, email=user.email, verified=True, primary=True\n"
            ")\n"
        )
    return script


def session_cookies(served: Served, email: str) -> dict[str, str]:
    """Sign in through the allauth login page, as a browser does; return its cookies."""
    cookies, signed_in = post_login_form(served, email)
    assert signed_in.status_code == 302, signed_in.text[:2000]
    cookies.update(signed_in.cookies)
    return cookies


def post_login_form(served: Served, email: str) -> tuple[dict[str, str], requests.Response]:
    """Fetch the login page and post its form; return the page's cookies and the answer."""
    headers = served.https_headers
    page = requests.get(f"{served.url}/accounts/login/", headers=headers, timeout=10)
    cookies = dict(page.cookies)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:2000]
    answer = requests.post(
        f"{served.url}/accounts/login/",
        data={"login": email, "password": PASSWORD, "csrfmiddlewaretoken": token[1]},
        # Secure cookies travel only over HTTPS; the proxy header makes this "HTTPS".
        headers={**headers, "Cookie": cookie_header(cookies)},
        allow_redirects=False,
        timeout=10,
    )
    return cookies, answer


def jwt_access_token(served: Served, email: str) -> str:
    tokens = requests.post(
        f"{served.url}/api/auth/token/",
        json={"email": email, "password": PASSWORD},
        headers=served.https_headers,
        timeout=10,
    )
    assert tokens.status_code == 200, tokens.text
    return str(tokens.json()["access"])


def signed_in_headers(served: Served, email: str) -> dict[str, str]:
    """Headers of a signed-in GET request, whichever way this project signs in."""
    if served.project.answers["auth"] == "session":
        return {**served.https_headers, "Cookie": cookie_header(session_cookies(served, email))}
    return {**served.https_headers, "Authorization": f"Bearer {jwt_access_token(served, email)}"}


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def sign_up(served: Served, email: str) -> requests.Response:
    """Sign up as a new user would: the API (jwt) or the allauth sign-up page (session).

    Fails unless the project accepted it: 202 from the API (the same answer whether
    or not the address is taken), a redirect from the page."""
    headers = served.https_headers
    if served.project.answers["auth"] == "jwt":
        answer = requests.post(
            f"{served.url}/api/auth/register/",
            json={"email": email, "password": PASSWORD},
            headers=headers,
            timeout=60,
        )
        assert answer.status_code == 202, answer.text[:2000]
        return answer
    page = requests.get(f"{served.url}/accounts/signup/", headers=headers, timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:2000]
    answer = requests.post(
        f"{served.url}/accounts/signup/",
        data={
            "email": email,
            "password1": PASSWORD,
            "password2": PASSWORD,
            "csrfmiddlewaretoken": token[1],
        },
        headers={**headers, "Cookie": cookie_header(dict(page.cookies))},
        allow_redirects=False,
        timeout=60,
    )
    assert answer.status_code == 302, answer.text[:2000]
    return answer
