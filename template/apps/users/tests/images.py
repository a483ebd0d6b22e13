"""Image files for upload tests, built in memory."""

import io
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def jpeg_with_exif(size: tuple[int, int] = (800, 600)) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Camera maker that knows where you live"  # Make
    output = io.BytesIO()
    Image.new("RGB", size, "teal").save(output, format="JPEG", exif=exif)
    return output.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG of a few bytes whose header claims *width* x *height* pixels (a decompression bomb)."""
    output = io.BytesIO()
    Image.new("L", (1, 1)).save(output, format="PNG")
    data = bytearray(output.getvalue())
    header = b"IHDR" + struct.pack(">II", width, height) + bytes(data[24:29])
    data[12:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(header))
    return bytes(data)


def gif() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (8, 8)).save(output, format="GIF")
    return output.getvalue()


def avatar_upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("me.jpg", jpeg_with_exif())
