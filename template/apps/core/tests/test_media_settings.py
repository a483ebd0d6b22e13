"""Where uploads are stored: the local disk, or private S3-compatible object storage."""

import importlib
from importlib import import_module

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import Resolver404, clear_url_caches, resolve
from pytest_django.fixtures import Settings

from config.settings.media import media_storage


def test_uploads_stay_on_the_local_disk_without_a_storage_url() -> None:
    assert media_storage("") == {"BACKEND": "django.core.files.storage.FileSystemStorage"}


def test_a_storage_url_selects_private_object_storage_with_signed_urls() -> None:
    storage = media_storage("s3://team-media/uploads/avatars/")

    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    options = storage["OPTIONS"]
    assert (options["bucket_name"], options["location"]) == ("team-media", "uploads/avatars")
    assert options["default_acl"] is None
    assert options["querystring_auth"] is True


@pytest.mark.parametrize("url", ["https://team-media.example.com", "s3:///no-bucket"])
def test_a_storage_url_that_names_no_bucket_is_refused(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="MEDIA_STORAGE_URL must read s3://BUCKET"):
        media_storage(url)


def test_uploads_on_the_local_disk_are_served_in_development(settings: Settings) -> None:
    urls = import_module(settings.ROOT_URLCONF)
    settings.DEBUG = True
    importlib.reload(urls)
    clear_url_caches()
    try:
        assert resolve("/media/avatars/a.webp").func.__name__ == "serve"
    finally:
        settings.DEBUG = False
        importlib.reload(urls)
        clear_url_caches()


def test_uploads_on_the_local_disk_are_not_served_without_debug() -> None:
    with pytest.raises(Resolver404):
        resolve("/media/avatars/a.webp")
