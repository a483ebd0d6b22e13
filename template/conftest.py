"""Shared pytest fixtures, and a report header naming the services under test."""

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.users.models import User
from apps.users.tests.factories import UserFactory


def pytest_report_header() -> list[str]:
    """Say which database, cache and broker this run talks to."""
    database = settings.DATABASES["default"]
    engine = database["ENGINE"].rpartition(".")[2]
    if database.get("HOST"):
        where = f"{database['HOST']}:{database.get('PORT') or 'default'}/{database['NAME']}"
    else:
        where = str(database["NAME"])
    cache = settings.CACHES["default"]
    lines = [
        f"database: {engine} {where}",
        f"cache: {cache['BACKEND'].rpartition('.')[2]} {cache.get('LOCATION', '')}".rstrip(),
    ]
    if broker := getattr(settings, "CELERY_BROKER_URL", ""):
        lines.append(f"broker: {broker}")
    return lines


@pytest.fixture
def user() -> User:
    user: User = UserFactory.create()
    return user


@pytest.fixture
def api_client() -> APIClient:
    return APIClient(enforce_csrf_checks=True)


@pytest.fixture
def signed_in_client(api_client: APIClient, user: User) -> APIClient:
    api_client.force_login(user)
    return api_client
