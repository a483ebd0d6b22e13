"""Keep what is cached about a user in step with the database."""

from functools import partial
from typing import Any

from django.core.cache import cache
from django.db import transaction

from apps.users.models import User
from apps.users.selectors import profile_cache_key


def forget_cached_profile(sender: type[User], instance: User, **kwargs: Any) -> None:
    """Drop the cached profile after the write commits (post_save/post_delete receiver).

    Dropping it before the commit would let a concurrent read cache the old row again.
    """
    transaction.on_commit(partial(cache.delete, profile_cache_key(instance.pk)))
