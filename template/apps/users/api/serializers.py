from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from rest_framework import serializers

from apps.core.api.serializers import StrictCharField
from apps.users import avatars, selectors
from apps.users.models import User
from apps.users.selectors import UserProfile


class UserSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ("id", "email", "full_name", "created_at")
        read_only_fields = fields


class UserProfileSerializer(serializers.Serializer[UserProfile]):
    """Every profile read: the signed-in user's own and any user's by id."""

    # Declared, not derived by a ModelSerializer: cheaper per profile (docs/design.md).

    id = serializers.UUIDField(read_only=True)
    email = serializers.EmailField(read_only=True)
    full_name = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    avatar_url = serializers.SerializerMethodField()

    def get_avatar_url(self, profile: UserProfile) -> str | None:
        return selectors.avatar_url(profile)


class ProfileUpdateSerializer(serializers.Serializer[User]):
    full_name = StrictCharField(max_length=150, allow_blank=True)


class AvatarUploadSerializer(serializers.Serializer[User]):
    """A multipart upload whose ``avatar`` part is decoded and re-encoded before it is kept."""

    avatar = serializers.FileField(allow_empty_file=False)

    def validate_avatar(self, upload: UploadedFile[bytes]) -> ContentFile[bytes]:
        try:
            return avatars.clean_avatar(upload)
        except avatars.AvatarRejectedError as error:
            raise serializers.ValidationError(str(error)) from None
