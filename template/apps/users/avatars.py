"""Avatar images: decode what a client uploads, keep only a clean re-encoded copy.

Decoding proves the file is an image of an accepted type whatever its name or
Content-Type claims; re-encoding drops everything but the pixels (EXIF with
its GPS position, ICC profiles, comments, trailing data).
"""

from __future__ import annotations

import io
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
# Longest side kept: a bigger upload is scaled down, keeping its proportions.
AVATAR_SIDE = 512
TOO_MANY_PIXELS = "The image has too many pixels."
# What Pillow raises for truncated or corrupt pixel data.
UNDECODABLE = (OSError, SyntaxError, ValueError)


class AvatarRejectedError(ValueError):
    """The upload is not an avatar this site keeps; the message says why."""


def clean_avatar(upload: UploadedFile[bytes]) -> ContentFile[bytes]:
    """Decode *upload* and return a re-encoded WebP copy, or raise AvatarRejectedError."""
    if upload.size is None or upload.size > settings.AVATAR_MAX_BYTES:
        raise AvatarRejectedError(f"An avatar may be at most {settings.AVATAR_MAX_BYTES} bytes.")
    try:
        with Image.open(upload, formats=sorted(ACCEPTED_FORMATS)) as image:
            # Checked from the header, before the pixels are decoded.
            if image.width * image.height > settings.AVATAR_MAX_PIXELS:
                raise AvatarRejectedError(TOO_MANY_PIXELS)
            image.load()
            upright = ImageOps.exif_transpose(image)
    except AvatarRejectedError:
        raise
    except Image.DecompressionBombError:  # past Pillow's own limit, refused while opening
        raise AvatarRejectedError(TOO_MANY_PIXELS) from None
    except UnidentifiedImageError:
        raise AvatarRejectedError("Upload a JPEG, PNG or WebP image.") from None
    except UNDECODABLE:
        raise AvatarRejectedError("The image could not be decoded.") from None
    upright.thumbnail((AVATAR_SIDE, AVATAR_SIDE))
    mode = (
        "RGBA" if upright.mode in {"RGBA", "LA", "PA"} or "transparency" in upright.info else "RGB"
    )
    output = io.BytesIO()
    upright.convert(mode).save(output, format="WEBP", quality=85)
    return ContentFile(output.getvalue(), name=f"{uuid.uuid4().hex}.webp")
