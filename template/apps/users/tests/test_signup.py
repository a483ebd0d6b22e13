"""Sign-up through the django-allauth pages."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from apps.users.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-and-unusual-passphrase"


def test_signup_verifies_the_email_then_signs_in_and_welcomes(
    client: Client,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_signup"),
            {"email": "New.Person@Example.com", "password1": PASSWORD, "password2": PASSWORD},
        )

    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    subjects = [message.subject for message in mail.outbox]
    assert any("Welcome to" in subject for subject in subjects)
    verification = next(m for m in mail.outbox if "Confirm" in m.subject or "confirm" in m.body)
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", str(verification.body))
    assert link is not None

    # Unverified: signing in is refused until the link is followed.
    assert not client.get(reverse("home")).context["user"].is_authenticated
    client.post(link.group(0).split("testserver", 1)[1])

    home = client.get(reverse("home"))
    assert home.context["user"] == user
    assert b"You are signed in as" in home.content


def test_signup_rejects_a_weak_password(client: Client) -> None:
    response = client.post(
        reverse("account_signup"),
        {"email": "weak@example.com", "password1": "password", "password2": "password"},
    )

    assert response.status_code == 200
    assert not User.objects.filter(email="weak@example.com").exists()
