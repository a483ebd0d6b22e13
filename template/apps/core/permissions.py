"""Object-level permissions shared by every app's API."""

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


class IsOwner(BasePermission):
    """Allow access only to the object's owner.

    The owner is the object itself (a user) or the user in its ``owner_field``
    attribute on the view (``"owner"`` by default).
    """

    message = "You do not have access to this object."

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        owner_field = getattr(view, "owner_field", "owner")
        owner = obj if obj.__class__ is request.user.__class__ else getattr(obj, owner_field, None)
        return bool(owner is not None and owner.pk == request.user.pk)


class IsOwnerOrReadOnly(IsOwner):
    """Anyone authenticated may read; only the owner may change."""

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        return request.method in SAFE_METHODS or super().has_object_permission(request, view, obj)
