"""Write a backup archive, restore one, and prune old ones.

An archive is one gzipped tar: manifest.json (format, database vendor, time),
the database's dump (a module per vendor: pg_dump's custom format, mysqldump's
SQL, or an SQLite copy made with its online backup API) and, when uploads live
on the filesystem, media/ with MEDIA_ROOT's files. Object storage keeps its own
copies. With BACKUP_STORAGE_URL, scheduled archives are also copied to the
"backups" storage.
"""

import json
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path
from typing import Protocol, cast

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.db import connection

from apps.core.backups import BackupError
from apps.core.backups.selectors import ARCHIVE_SUFFIX, archives, offsite_archives

FORMAT = 1
MANIFEST = "manifest.json"
MEDIA = "media"


class DatabaseDump(Protocol):
    DUMP_NAME: str

    def dump(self, path: Path) -> None: ...

    def load(self, path: Path, *, replace: bool) -> None: ...


def database_dump() -> DatabaseDump:
    """The dump and load of the database in use, by vendor (apps/core/backups/<vendor>.py).

    By vendor, not by the project's answer: without DATABASE_URL a PostgreSQL
    project runs on an SQLite file, and that is what gets backed up.
    """
    try:
        return cast(DatabaseDump, import_module(f"apps.core.backups.{connection.vendor}"))
    except ModuleNotFoundError:
        raise BackupError(f"backups do not support {connection.vendor} databases") from None


@dataclass(frozen=True)
class Restored:
    tables: int
    media_files: int


def filesystem_media_root() -> Path | None:
    """MEDIA_ROOT when uploads are stored on the filesystem, else None (object storage)."""
    storage = storages["default"]
    return Path(storage.location) if isinstance(storage, FileSystemStorage) else None


def create_backup(output: Path, *, now: datetime | None = None) -> Path:
    """Write an archive to *output*, or a time-named one into it if it is a directory."""
    created_at = now or datetime.now(UTC)
    if output.is_dir():
        output = output / f"{settings.PROJECT_SLUG}-{created_at:%Y%m%dT%H%M%SZ}{ARCHIVE_SUFFIX}"
    output.parent.mkdir(parents=True, exist_ok=True)
    media_root = filesystem_media_root()
    with_media = media_root is not None and media_root.is_dir()
    # The dump is staged beside the archive: /tmp may be small (a memory-backed tmpfs).
    database = database_dump()
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=output.parent) as scratch:
        dump = Path(scratch) / database.DUMP_NAME
        database.dump(dump)
        manifest = Path(scratch) / MANIFEST
        manifest.write_text(
            json.dumps(
                {
                    "format": FORMAT,
                    "database": connection.vendor,
                    "created_at": created_at.isoformat(),
                    "media": with_media,
                }
            )
        )
        # Written beside the target and renamed: a half-written archive never
        # passes for a backup (pruning and prodcheck look for finished ones).
        partial = output.with_name(f".{output.name}.partial")
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(manifest, MANIFEST)
            archive.add(dump, database.DUMP_NAME)
            if with_media and media_root is not None:
                archive.add(media_root, MEDIA)
        partial.replace(output)
    return output


def backup_into(directory: Path, *, keep: int) -> tuple[Path, list[Path]]:
    """Back up into *directory*, then remove its archives beyond the newest *keep* (0: none)."""
    directory.mkdir(parents=True, exist_ok=True)
    archive = create_backup(directory)
    removed = archives(directory)[:-keep] if keep > 0 else []
    for old in removed:
        old.unlink()
    return archive, removed


def offsite_storage() -> Storage | None:
    """The storage scheduled archives are copied to (BACKUP_STORAGE_URL), or None."""
    return storages["backups"] if "backups" in settings.STORAGES else None


def copy_offsite(archive: Path, storage: Storage, *, keep: int) -> tuple[str, list[str]]:
    """Copy *archive* into *storage*; remove its archives beyond the newest *keep* (0: none)."""
    with archive.open("rb") as content:
        name = storage.save(archive.name, File(content))
    removed = offsite_archives(storage)[:-keep] if keep > 0 else []
    for old in removed:
        storage.delete(old)
    return name, removed


def fetch_offsite(name: str, storage: Storage, directory: Path) -> Path:
    """Download the archive *name* from *storage* into *directory*."""
    if not storage.exists(name):
        raise BackupError(f"{name} is neither a file here nor an archive in BACKUP_STORAGE_URL")
    local = directory / Path(name).name
    with storage.open(name, "rb") as remote, local.open("wb") as copy:
        shutil.copyfileobj(remote, copy)
    return local


def restore_backup(path: Path, *, force: bool = False) -> Restored:
    """Restore the database and media files of the archive at *path*.

    A database that already holds tables is refused unless *force*: its rows
    would be mixed with the backup's. Forced, the backup's tables replace them.
    """
    with tempfile.TemporaryDirectory(prefix="restore-") as scratch:
        unpacked = Path(scratch)
        try:
            with tarfile.open(path) as archive:
                archive.extractall(unpacked, filter="data")
            manifest = json.loads((unpacked / MANIFEST).read_text())
        except (OSError, tarfile.TarError, ValueError) as error:
            raise BackupError(f"{path} is not a readable backup archive: {error}") from error
        check_compatible(manifest, path)
        media_root = filesystem_media_root()
        if manifest["media"] and media_root is None:
            raise BackupError(
                f"{path} holds media files, but uploads are not stored on the filesystem here: "
                "copy its media/ folder into the object storage instead"
            )
        tables = connection.introspection.table_names()
        if tables and not force:
            raise BackupError(
                f"the database {connection.settings_dict['NAME']} is not empty "
                f"({len(tables)} tables): restoring would mix its rows with the backup's; "
                "restore into an empty database, or pass --force to replace its tables"
            )
        database = database_dump()
        database.load(unpacked / database.DUMP_NAME, replace=bool(tables))
        media_files = 0
        if manifest["media"] and media_root is not None:
            shutil.copytree(unpacked / MEDIA, media_root, dirs_exist_ok=True)
            media_files = sum(1 for item in (unpacked / MEDIA).rglob("*") if item.is_file())
    return Restored(tables=len(connection.introspection.table_names()), media_files=media_files)


def check_compatible(manifest: dict[str, object], path: Path) -> None:
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path} has backup format {manifest.get('format')}, not {FORMAT}")
    if manifest.get("database") != connection.vendor:
        raise BackupError(
            f"{path} is a {manifest.get('database')} backup; this project runs {connection.vendor}"
        )
