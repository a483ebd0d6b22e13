"""Reads of users. Other apps ask here instead of querying the model."""

from dataclasses import dataclass, fields
from datetime import datetime
from uuid import UUID

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.utils.http import urlsafe_base64_decode

from apps.core.metrics import record_cache_read
from apps.users.models import User

PROFILE_CACHE_SECONDS = 300


@dataclass(frozen=True)
class UserProfile:
    """What an account shows of itself: no secrets, so it may sit in the cache."""

    id: UUID
    email: str
    full_name: str
    created_at: datetime
    # The stored file's name ("" without one), never its URL: signed URLs
    # expire, so one is made at each read (avatar_url) instead of cached.
    avatar: str

    @property
    def owner_id(self) -> UUID:
        """A profile belongs to the user it describes (see apps.core.permissions.IsOwner)."""
        return self.id


PROFILE_FIELDS = tuple(field.name for field in fields(UserProfile))


def profile_of(user: User) -> UserProfile:
    """The profile of a user already in hand, such as the signed-in one: no query."""
    values = {name: getattr(user, name) for name in PROFILE_FIELDS}
    return UserProfile(**{**values, "avatar": user.avatar.name or ""})


def avatar_url(profile: UserProfile) -> str | None:
    """Where a client fetches the profile's avatar: signed and expiring on object storage."""
    return default_storage.url(profile.avatar) if profile.avatar else None


def active_users() -> QuerySet[User]:
    return User.objects.filter(is_active=True)


def active_user(user_id: UUID | str) -> User | None:
    return active_users().filter(pk=user_id).first()


def user_with_email(email: str) -> User | None:
    """The account of *email*, active or not (addresses are stored lower-case)."""
    return User.objects.filter(email=User.objects.normalize_email(email)).first()


# Not base64, not UTF-8, or not a user id.
MANGLED_LINK = (ValueError, ValidationError)


def user_from_link(uid: str) -> User | None:
    """The user a link of an account e-mail names, or None for a mangled or unknown one."""
    try:
        user_id = urlsafe_base64_decode(uid).decode()
        return User.objects.filter(pk=user_id).first()
    except MANGLED_LINK:
        return None


def profile_cache_key(user_id: UUID | str) -> str:
    return f"users:profile:v2:{user_id}"


def user_profile(user_id: UUID | str) -> UserProfile | None:
    """Return an active user's profile, from the cache when it is there.

    Every save of a user drops the cached copy once the save has committed
    (apps.users.signals), so a read never outlives the write it missed.
    """
    key = profile_cache_key(user_id)
    values = cache.get(key)
    record_cache_read("users.profile", hit=values is not None)
    if values is None:
        values = active_users().filter(pk=user_id).values(*PROFILE_FIELDS).first()
        if values is None:
            return None
        cache.set(key, values, PROFILE_CACHE_SECONDS)
    return UserProfile(**values)
