"""HTTP for users: parse, call the service or selector, serialise. No business logic."""

from uuid import UUID

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.exceptions import APIException, NotAuthenticated, NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.views import StrictQueryParamsMixin
from apps.core.permissions import IsOwner
from apps.core.schema import ErrorSerializer
from apps.users import selectors, services
from apps.users.api.serializers import (
    AvatarUploadSerializer,
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


class UploadTooLargeError(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The upload is larger than this endpoint accepts."


# Room for the multipart boundaries and part headers around the file itself.
MULTIPART_OVERHEAD_BYTES = 16 * 1024


class AvatarView(StrictQueryParamsMixin, APIView):
    """The signed-in user's avatar: upload (multipart, part ``avatar``) or remove it."""

    parser_classes = (MultiPartParser,)

    @extend_schema(
        request=AvatarUploadSerializer,
        responses={
            200: UserProfileSerializer,
            413: OpenApiResponse(ErrorSerializer, description="Larger than AVATAR_MAX_BYTES."),
        },
    )
    def put(self, request: Request) -> Response:
        # Refused from its declared length, before Django spools the body to disk.
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if not declared.isdigit() or int(declared) > (
            settings.AVATAR_MAX_BYTES + MULTIPART_OVERHEAD_BYTES
        ):
            raise UploadTooLargeError
        serializer = AvatarUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.set_avatar(
            user=signed_in_user(request), image=serializer.validated_data["avatar"]
        )
        return Response(UserProfileSerializer(selectors.profile_of(user)).data)

    @extend_schema(request=None, responses={200: UserProfileSerializer})
    def delete(self, request: Request) -> Response:
        user = services.remove_avatar(user=signed_in_user(request))
        return Response(UserProfileSerializer(selectors.profile_of(user)).data)


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
