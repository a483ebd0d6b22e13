"""Reads of users. Other apps ask here instead of querying the model."""

from django.db.models import QuerySet

from apps.users.models import User


def active_users() -> QuerySet[User]:
    return User.objects.filter(is_active=True)
