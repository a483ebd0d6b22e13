"""HTTP for users: parse, call the service or selector, serialise. No business logic."""

from uuid import UUID

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions
from rest_framework.exceptions import NotAuthenticated, NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.views import StrictQueryParamsMixin
from apps.core.permissions import IsOwner
from apps.users import selectors, services
from apps.users.api.serializers import (
    ProfileUpdateSerializer,
    UserProfileSerializer,
    UserSerializer,
)
from apps.users.models import User


def signed_in_user(request: Request) -> User:
    """The request's user; the view's IsAuthenticated permission has ruled out anonymity."""
    if not isinstance(request.user, User):
        raise NotAuthenticated
    return request.user


class MeView(StrictQueryParamsMixin, APIView):
    """The signed-in user's own profile."""

    @extend_schema(responses=UserProfileSerializer)
    def get(self, request: Request) -> Response:
        profile = selectors.profile_of(signed_in_user(request))
        return Response(UserProfileSerializer(profile).data)

    @extend_schema(request=ProfileUpdateSerializer, responses=UserProfileSerializer)
    def patch(self, request: Request) -> Response:
        serializer = ProfileUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = signed_in_user(request)
        updated = services.update_profile(
            user=user, full_name=serializer.validated_data.get("full_name", user.full_name)
        )
        return Response(UserProfileSerializer(selectors.profile_of(updated)).data)


class UserDetailView(StrictQueryParamsMixin, APIView):
    """One user's profile: only to that user (object permission), or staff. Cached."""

    permission_classes = (permissions.IsAuthenticated, IsOwner | permissions.IsAdminUser)

    @extend_schema(responses=UserProfileSerializer)
    def get(self, request: Request, pk: UUID) -> Response:
        profile = selectors.user_profile(pk)
        if profile is None:
            raise NotFound
        self.check_object_permissions(request, profile)
        return Response(UserProfileSerializer(profile).data)


class UserListView(StrictQueryParamsMixin, generics.ListAPIView[User]):
    """Active users, newest first (staff only)."""

    serializer_class = UserSerializer
    permission_classes = (permissions.IsAdminUser,)

    def get_queryset(self) -> QuerySet[User]:
        return selectors.active_users()
