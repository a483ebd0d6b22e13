"""Find the backup archives in a directory."""

from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

ARCHIVE_SUFFIX = ".tar.gz"


def archives(directory: Path) -> list[Path]:
    """The project's finished archives in *directory*, oldest first (names carry the time)."""
    return sorted(directory.glob(f"{settings.PROJECT_SLUG}-*{ARCHIVE_SUFFIX}"))


def latest_backup(directory: Path) -> tuple[Path, datetime] | None:
    """The newest archive in *directory* and when it was written, or None."""
    found = archives(directory) if directory.is_dir() else []
    if not found:
        return None
    return found[-1], datetime.fromtimestamp(found[-1].stat().st_mtime, UTC)
