"""django-allauth hooks."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from apps.users import services
from apps.users.models import User


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> User:
        """Save a new sign-up, then hand it to the users service like any other account."""
        saved: User = super().save_user(request, user, form, commit=commit)
        if commit:
            services.welcome_new_user(saved)
        return saved
