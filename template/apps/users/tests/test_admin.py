import pytest
from django.conf import settings
from django.test import Client

from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_admin_is_not_at_the_default_path(client: Client) -> None:
    assert settings.ADMIN_URL != "admin/"
    assert client.get("/admin/").status_code == 404


def test_staff_can_search_users_in_the_admin(client: Client) -> None:
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    UserFactory.create(email="findme@example.com")

    response = client.get(f"/{settings.ADMIN_URL}users/user/", {"q": "findme"})

    assert response.status_code == 200
    assert b"findme@example.com" in response.content
