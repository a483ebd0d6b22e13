from smtplib import SMTPException
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMessage
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from apps.users import services
from apps.users.models import User

pytestmark = pytest.mark.django_db


def test_welcome_email_is_sent_once_and_stamped(user: User) -> None:
    assert services.send_welcome_email(user_id=user.pk) is True
    assert services.send_welcome_email(user_id=user.pk) is False

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]
    assert "Welcome to" in mail.outbox[0].subject
    user.refresh_from_db()
    assert user.welcome_email_sent_at is not None


def test_every_attempt_at_a_welcome_email_carries_the_same_message_id(user: User) -> None:
    services.send_welcome_email(user_id=user.pk)
    # As if a worker had died after sending, before the stamp committed.
    User.objects.filter(pk=user.pk).update(welcome_email_sent_at=None)
    services.send_welcome_email(user_id=user.pk)

    assert len(mail.outbox) == 2
    message_ids = {message.message()["Message-ID"] for message in mail.outbox}
    assert message_ids == {f"<welcome.{user.pk}@{settings.DOMAIN_NAME}>"}


def test_welcome_email_skips_inactive_and_missing_users(user: User) -> None:
    user.is_active = False
    user.save()

    assert services.send_welcome_email(user_id=user.pk) is False
    assert services.send_welcome_email(user_id="00000000-0000-0000-0000-000000000000") is False
    assert mail.outbox == []


def test_a_failed_send_leaves_the_user_unstamped_for_the_retry(
    user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in for an SMTP provider that is down: no mail server exists here.
    def smtp_down(*args: Any, **kwargs: Any) -> None:
        raise SMTPException("connection refused")

    monkeypatch.setattr(EmailMessage, "send", smtp_down)

    with pytest.raises(SMTPException):
        services.send_welcome_email(user_id=user.pk)

    user.refresh_from_db()
    assert user.welcome_email_sent_at is None


def test_welcome_email_is_enqueued_only_when_the_signup_commits(
    user: User, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        services.welcome_new_user(user)
        assert mail.outbox == []

    assert len(callbacks) == 1
    callbacks[0]()  # the commit happens: the task runs (in-process in unit tests)
    assert len(mail.outbox) == 1


def test_update_profile_trims_the_name(user: User) -> None:
    services.update_profile(user=user, full_name="  Katherine Johnson ")

    user.refresh_from_db()
    assert user.full_name == "Katherine Johnson"
