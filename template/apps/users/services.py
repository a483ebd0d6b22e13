"""Business logic for users. Views, adapters and other apps call these functions."""

import logging
from functools import partial
from uuid import UUID

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from apps.users.models import User

logger = logging.getLogger(__name__)


def welcome_new_user(user: User) -> None:
    """Send the welcome e-mail in the background once the sign-up has committed.

    Enqueuing after commit means a worker never looks for a user that a
    rolled-back transaction never created.
    """
    from apps.users.tasks import enqueue_welcome_email  # tasks call back into this module

    transaction.on_commit(partial(enqueue_welcome_email, str(user.pk)))


def send_welcome_email(*, user_id: UUID | str) -> bool:
    """Send the welcome e-mail unless it was already sent; return whether it was sent now.

    Idempotent: the row is locked while sending and stamped in the same
    transaction, so a retried or duplicated task sends nothing twice. If sending
    fails the stamp rolls back with it and the task's retry tries again.
    """
    with transaction.atomic():
        user = (
            User.objects.select_for_update()
            .filter(pk=user_id, is_active=True, welcome_email_sent_at__isnull=True)
            .first()
        )
        if user is None:
            return False
        context = {"user": user, "project_name": settings.PROJECT_NAME}
        send_mail(
            subject=f"Welcome to {settings.PROJECT_NAME}",
            message=render_to_string("emails/welcome.txt", context),
            from_email=None,
            recipient_list=[user.email],
        )
        user.welcome_email_sent_at = timezone.now()
        user.save(update_fields=["welcome_email_sent_at", "updated_at"])
    logger.info("welcome e-mail sent", extra={"user_id": str(user_id)})
    return True


def update_profile(*, user: User, full_name: str) -> User:
    user.full_name = full_name.strip()
    user.save(update_fields=["full_name", "updated_at"])
    return user
