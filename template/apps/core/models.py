"""Abstract base models every app builds on."""

import uuid
from typing import Any, ClassVar, Self

from django.db import models
from django.utils import timezone


class TimeStampedModel(models.Model):
    """Records when a row was created and last changed."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class UUIDModel(models.Model):
    """A random UUID primary key: ids in URLs reveal neither counts nor order."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)

    class Meta:
        abstract = True


class SoftDeleteQuerySet(models.QuerySet[Any]):
    def alive(self) -> Self:
        return self.filter(deleted_at__isnull=True)

    def soft_delete(self) -> int:
        """Mark every row deleted in one UPDATE; return how many were marked."""
        return self.alive().update(deleted_at=timezone.now())


class SoftDeleteModel(models.Model):
    """Rows are marked deleted instead of removed.

    ``objects`` hides deleted rows; ``all_objects`` sees everything.
    """

    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)

    objects: ClassVar[models.Manager[Any]] = models.Manager.from_queryset(SoftDeleteQuerySet)()
    all_objects: ClassVar[models.Manager[Any]] = models.Manager()

    class Meta:
        abstract = True

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def soft_delete(self) -> None:
        self.deleted_at = timezone.now()
        self.save(update_fields=["deleted_at"])

    def restore(self) -> None:
        self.deleted_at = None
        self.save(update_fields=["deleted_at"])
