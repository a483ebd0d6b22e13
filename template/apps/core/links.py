"""Absolute links for e-mails: on the configured SITE_URL, never on a request's Host header.

A Host header is the client's to choose within ALLOWED_HOSTS (any port, any
subdomain of a wildcard entry); a link built from it can point a password
reset at someone else's server.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


@dataclass(frozen=True)
class Site:
    """What e-mail templates read as ``current_site``."""

    domain: str
    name: str


def site_url(path_or_url: str) -> str:
    """*path_or_url*'s path, query and fragment on SITE_URL."""
    relative = urlsplit(path_or_url)._replace(scheme="", netloc="").geturl()
    base: str = settings.SITE_URL
    return base.rstrip("/") + relative


def configured_site() -> Site:
    return Site(domain=urlsplit(settings.SITE_URL).netloc, name=settings.PROJECT_NAME)
