from types import SimpleNamespace
from typing import Any

import pytest
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from apps.core.permissions import IsOwner
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def drf_request(method: str, user: Any) -> Any:
    request = getattr(APIRequestFactory(), method)("/")
    force_authenticate(request, user=user)
    return APIView().initialize_request(request)


def test_owner_may_act_on_their_own_objects() -> None:
    owner, stranger = UserFactory.create(), UserFactory.create()
    document = SimpleNamespace(owner_id=owner.pk)

    assert IsOwner().has_object_permission(drf_request("patch", owner), APIView(), document)
    assert not IsOwner().has_object_permission(drf_request("patch", stranger), APIView(), document)


def test_a_user_object_is_owned_by_itself() -> None:
    me, other = UserFactory.create(), UserFactory.create()

    assert IsOwner().has_object_permission(drf_request("get", me), APIView(), me)
    assert not IsOwner().has_object_permission(drf_request("get", me), APIView(), other)


def test_a_view_can_name_the_owner_attribute() -> None:
    author, reader = UserFactory.create(), UserFactory.create()
    view = APIView()
    view.owner_id_field = "author_id"  # type: ignore[attr-defined]
    comment = SimpleNamespace(author_id=author.pk)

    assert IsOwner().has_object_permission(drf_request("delete", author), view, comment)
    assert not IsOwner().has_object_permission(drf_request("delete", reader), view, comment)


def test_an_object_without_an_owner_belongs_to_nobody() -> None:
    user = UserFactory.create()

    assert not IsOwner().has_object_permission(drf_request("get", user), APIView(), object())
