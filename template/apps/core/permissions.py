"""Object-level permissions shared by every app's API."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


class IsOwner(BasePermission):
    """Allow access only to the object's owner.

    A user owns itself. Any other object gives its owner's primary key in the
    attribute the view names in ``owner_id_field``: ``"owner_id"`` by default,
    the column behind an ``owner`` foreign key, so the check loads no owner.
    """

    message = "You do not have access to this object."

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        if isinstance(obj, AbstractBaseUser):
            owner_id = obj.pk
        else:
            owner_id = getattr(obj, getattr(view, "owner_id_field", "owner_id"), None)
        return owner_id is not None and owner_id == request.user.pk
