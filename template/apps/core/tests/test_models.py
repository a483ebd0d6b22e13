from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, models
from django.test.utils import isolate_apps

from apps.core.models import TimeStampedModel, UUIDModel

# Tables are created and dropped here, which SQLite cannot do inside a transaction.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def note_model() -> Iterator[Any]:
    """A throwaway concrete model built on every abstract base, with its table."""
    with isolate_apps("apps.core"):

        class Note(UUIDModel, TimeStampedModel):
            text = models.CharField(max_length=50)

            class Meta:
                app_label = "core"

        with connection.schema_editor() as editor:
            editor.create_model(Note)
        yield Note
        with connection.schema_editor() as editor:
            editor.delete_model(Note)


def test_base_models_give_uuid_ids_and_timestamps(note_model: Any) -> None:
    note = note_model.objects.create(text="hello")

    assert note.id.version == 4
    assert note.created_at is not None
    assert note.updated_at >= note.created_at
