"""Media: files users upload (avatars), on the local disk or on S3-compatible storage.

MEDIA_STORAGE_URL (``s3://bucket`` or ``s3://bucket/prefix``) moves them to
object storage through django-storages; the AWS_* variables say where and as
whom (any S3 API: AWS, Cloudflare R2, Tigris, MinIO...). Objects are private:
their URLs are signed and expire. Unset, files go to MEDIA_ROOT on this disk.
"""

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from config.settings.environment import IN_PRODUCTION, env, require_env

# Targets whose instances share no disk (kubernetes, fly, render, heroku) set
# this in their deploy files: an upload on one instance's disk would be
# missing from the others and lost on the next deploy, so production refuses
# to start without object storage.
MEDIA_REQUIRES_OBJECT_STORAGE = env.bool("MEDIA_REQUIRES_OBJECT_STORAGE", default=False)
if IN_PRODUCTION and MEDIA_REQUIRES_OBJECT_STORAGE:
    require_env("MEDIA_STORAGE_URL")

# An avatar upload larger than this is refused before it is decoded; one whose
# header claims more pixels than this is refused before its pixels are read
# (a small file can decompress to gigabytes).
AVATAR_MAX_BYTES = env.int("AVATAR_MAX_BYTES", default=2 * 1024 * 1024)
AVATAR_MAX_PIXELS = env.int("AVATAR_MAX_PIXELS", default=25_000_000)


def s3_storage(url: str, variable: str) -> dict[str, Any]:
    """The STORAGES entry for *variable*'s ``s3://BUCKET[/PREFIX]``: private, URLs signed."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ImproperlyConfigured(
            f"{variable} must read s3://BUCKET or s3://BUCKET/PREFIX (got {url!r})."
        )
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": parts.netloc,
            "location": parts.path.strip("/"),
            # Unset or empty, boto3 finds credentials itself (an instance role, ~/.aws).
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            # Private: no public ACL, every URL signed and valid this long.
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": env.int("MEDIA_URL_EXPIRE_SECONDS", default=3600),
            "file_overwrite": False,
            "signature_version": "s3v4",
        },
    }


def media_storage(url: str) -> dict[str, Any]:
    """The STORAGES["default"] entry for MEDIA_STORAGE_URL, or the local disk when empty."""
    if not url:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    return s3_storage(url, "MEDIA_STORAGE_URL")


MEDIA_STORAGE = media_storage(env.str("MEDIA_STORAGE_URL", default=""))
