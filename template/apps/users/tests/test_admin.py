import pytest
from django.conf import settings
from django.http.response import HttpResponseBase
from django.test import Client

from apps.core.tests.throttle_clock import ThrottleClock
from apps.users.tests.factories import DEFAULT_PASSWORD, UserFactory

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


def admin_sign_in(client: Client, email: str, password: str) -> HttpResponseBase:
    return client.post(f"/{settings.ADMIN_URL}login/", {"username": email, "password": password})


def auth_rate_limit() -> int:
    return int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth"].split("/")[0])


def test_failed_admin_sign_ins_are_throttled_per_client_even_with_the_right_password(
    client: Client, throttle_clock: ThrottleClock
) -> None:
    staff = UserFactory.create(is_staff=True, is_superuser=True)
    for attempt in range(auth_rate_limit()):
        # The form again, with its error.
        assert admin_sign_in(client, f"guess{attempt}@example.com", "wrong").status_code == 200

    refused = admin_sign_in(client, staff.email, DEFAULT_PASSWORD)

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
    throttle_clock.now += 60  # the next window
    assert admin_sign_in(client, staff.email, DEFAULT_PASSWORD).status_code == 302


def test_failed_admin_sign_ins_are_throttled_per_account_whatever_the_client(
    throttle_clock: ThrottleClock,
) -> None:
    staff = UserFactory.create(is_staff=True, is_superuser=True)
    for attempt in range(auth_rate_limit()):
        guesser = Client(REMOTE_ADDR=f"203.0.113.{attempt + 1}")
        assert admin_sign_in(guesser, staff.email, "wrong").status_code == 200

    owner = Client(REMOTE_ADDR="198.51.100.9")

    assert admin_sign_in(owner, staff.email, DEFAULT_PASSWORD).status_code == 429
