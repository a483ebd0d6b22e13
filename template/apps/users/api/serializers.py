from rest_framework import serializers

from apps.core.api import StrictCharField
from apps.users.models import User


class UserSerializer(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ("id", "email", "full_name", "created_at")
        read_only_fields = fields


class ProfileUpdateSerializer(serializers.Serializer[User]):
    full_name = StrictCharField(max_length=150, allow_blank=True)
