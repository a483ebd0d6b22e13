"""Find the backup archives in a directory or in the off-site storage."""

from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.files.storage import Storage

ARCHIVE_SUFFIX = ".tar.gz"


def archives(directory: Path) -> list[Path]:
    """The project's finished archives in *directory*, oldest first (names carry the time)."""
    return sorted(directory.glob(f"{settings.PROJECT_SLUG}-*{ARCHIVE_SUFFIX}"))


def offsite_archives(storage: Storage) -> list[str]:
    """The project's archives in *storage*, oldest first."""
    _, files = storage.listdir("")
    prefix = f"{settings.PROJECT_SLUG}-"
    return sorted(
        name for name in files if name.startswith(prefix) and name.endswith(ARCHIVE_SUFFIX)
    )


def latest_backup(directory: Path) -> tuple[Path, datetime] | None:
    """The newest archive in *directory* and when it was written, or None."""
    found = archives(directory) if directory.is_dir() else []
    if not found:
        return None
    return found[-1], datetime.fromtimestamp(found[-1].stat().st_mtime, UTC)
