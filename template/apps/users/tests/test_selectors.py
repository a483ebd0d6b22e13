from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.users import selectors, services
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CaptureOnCommit = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


def user_table_reads(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if User._meta.db_table in q["sql"]]


def test_a_profile_is_read_from_the_database_once_then_from_the_cache(user: User) -> None:
    with CaptureQueriesContext(connection) as first_read:
        first = selectors.user_profile(user.pk)
    with CaptureQueriesContext(connection) as second_read:
        second = selectors.user_profile(user.pk)

    assert len(user_table_reads(first_read)) == 1
    assert user_table_reads(second_read) == []
    assert first == second
    assert second is not None
    assert (second.id, second.email, second.full_name) == (user.pk, user.email, user.full_name)


def test_updating_a_profile_invalidates_the_cached_copy(
    user: User, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    selectors.user_profile(user.pk)  # now cached

    with django_capture_on_commit_callbacks(execute=True):
        services.update_profile(user=user, full_name="Ada Lovelace")

    profile = selectors.user_profile(user.pk)
    assert profile is not None
    assert profile.full_name == "Ada Lovelace"


def test_the_cached_copy_is_dropped_only_when_the_write_commits(
    user: User, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    selectors.user_profile(user.pk)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.update_profile(user=user, full_name="Ada Lovelace")
        cached = selectors.user_profile(user.pk)

    assert cached is not None
    assert cached.full_name != "Ada Lovelace"
    assert len(callbacks) == 1


def test_a_deactivated_user_has_no_profile(
    user: User, django_capture_on_commit_callbacks: CaptureOnCommit
) -> None:
    selectors.user_profile(user.pk)

    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = False
        user.save()

    assert selectors.user_profile(user.pk) is None


def test_an_unknown_user_has_no_profile() -> None:
    assert selectors.user_profile(UserFactory.build().pk) is None
