"""Avatar uploads through the API, stored on the local disk (object storage: the template's tests)."""

import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from apps.users.models import User
from apps.users.tests.images import gif, jpeg_with_exif, png_claiming

pytestmark = pytest.mark.django_db

AVATAR = reverse("users-api:avatar")
ME = reverse("users-api:me")


def upload(client: APIClient, content: bytes, name: str = "me.jpg") -> dict[str, object]:
    response = client.put(AVATAR, {"avatar": SimpleUploadedFile(name, content)}, format="multipart")
    return {"status": response.status_code, **response.json()}


def avatar_name(user: User) -> str:
    user.refresh_from_db()
    assert user.avatar.name
    return user.avatar.name


def stored_avatar(user: User) -> Image.Image:
    with default_storage.open(avatar_name(user)) as stored:
        image = Image.open(io.BytesIO(stored.read()))
        image.load()
    return image


def test_an_uploaded_avatar_is_kept_as_a_clean_smaller_copy(
    signed_in_client: APIClient, user: User
) -> None:
    answer = upload(signed_in_client, jpeg_with_exif())

    assert answer["status"] == 200
    image = stored_avatar(user)
    assert (image.format, image.size) == ("WEBP", (512, 384))
    assert not image.getexif()
    assert answer["avatar_url"] == default_storage.url(avatar_name(user))
    assert signed_in_client.get(ME).json()["avatar_url"] == answer["avatar_url"]


def test_a_new_avatar_replaces_the_old_file(
    signed_in_client: APIClient, user: User, django_capture_on_commit_callbacks: object
) -> None:
    upload(signed_in_client, jpeg_with_exif())
    first = avatar_name(user)

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        upload(signed_in_client, jpeg_with_exif((64, 64)))

    assert avatar_name(user) != first
    assert default_storage.exists(avatar_name(user))
    assert not default_storage.exists(first)


def test_deleting_the_avatar_removes_its_file(
    signed_in_client: APIClient, user: User, django_capture_on_commit_callbacks: object
) -> None:
    upload(signed_in_client, jpeg_with_exif())
    stored = avatar_name(user)

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        response = signed_in_client.delete(AVATAR)

    assert response.status_code == 200
    assert response.json()["avatar_url"] is None
    assert not default_storage.exists(stored)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"#!/bin/sh\necho not an image\n", "Upload a JPEG", id="not-an-image"),
        pytest.param(gif(), "Upload a JPEG", id="unaccepted-type"),
        pytest.param(jpeg_with_exif()[:400], "could not be decoded", id="truncated"),
        pytest.param(png_claiming(6_000, 6_000), "too many pixels", id="decompression-bomb"),
        pytest.param(png_claiming(30_000, 30_000), "too many pixels", id="pillow-sized-bomb"),
    ],
)
def test_an_upload_that_is_not_an_accepted_image_is_refused(
    signed_in_client: APIClient, user: User, content: bytes, message: str
) -> None:
    answer = upload(signed_in_client, content, name="avatar.png")

    assert answer["status"] == 400
    assert answer["error"]["code"] == "invalid"  # type: ignore[index]
    assert message in str(answer["error"]["details"]["avatar"])  # type: ignore[index]
    user.refresh_from_db()
    assert not user.avatar


def test_an_upload_over_the_size_limit_is_refused(
    signed_in_client: APIClient, settings: Settings
) -> None:
    settings.AVATAR_MAX_BYTES = 1000
    content = jpeg_with_exif()

    assert upload(signed_in_client, content)["status"] == 400
    oversized = upload(signed_in_client, content + b"\0" * 20_000)
    assert oversized["status"] == 413
    assert oversized["error"]["code"] == "too_large"  # type: ignore[index]


def test_an_upload_without_a_file_is_refused(signed_in_client: APIClient) -> None:
    response = signed_in_client.put(AVATAR, {}, format="multipart")

    assert response.status_code == 400
    assert "avatar" in response.json()["error"]["details"]
