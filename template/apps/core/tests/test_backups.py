"""manage.py backup and restore under the test settings (the template's tests restore for real)."""

import json
import tarfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from pytest_django.fixtures import Settings

from apps.core.backups import selectors
from apps.core.backups.services import database_dump

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings: Settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    (settings.MEDIA_ROOT / "avatars").mkdir(parents=True)
    (settings.MEDIA_ROOT / "avatars" / "a.png").write_bytes(b"not really a png")
    return Path(settings.MEDIA_ROOT)


def test_a_backup_is_one_archive_with_a_manifest_the_dump_and_the_media_files(
    media: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "out" / "backup.tar.gz"

    call_command("backup", "--output", str(archive))

    with tarfile.open(archive) as opened:
        names = set(opened.getnames())
        member = opened.extractfile("manifest.json")
        assert member is not None
        manifest = json.loads(member.read())
    assert {"manifest.json", database_dump().DUMP_NAME, "media/avatars/a.png"} <= names
    assert manifest["database"] == connection.vendor
    assert manifest["media"] is True
    assert [p.name for p in archive.parent.iterdir()] == ["backup.tar.gz"]  # no leftovers


def test_a_backup_into_backup_dir_keeps_the_newest_backup_keep(
    settings: Settings, media: Path, tmp_path: Path
) -> None:
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.BACKUP_KEEP = 2
    settings.BACKUP_DIR.mkdir()
    for old in ("20200101T000000Z", "20210101T000000Z"):
        (settings.BACKUP_DIR / f"{settings.PROJECT_SLUG}-{old}.tar.gz").write_bytes(b"")

    call_command("backup")

    kept = selectors.archives(settings.BACKUP_DIR)
    assert len(kept) == 2
    assert kept[0].name == f"{settings.PROJECT_SLUG}-20210101T000000Z.tar.gz"
    latest = selectors.latest_backup(settings.BACKUP_DIR)
    assert latest is not None
    assert latest[0] == kept[1]


def test_a_restore_into_a_database_with_tables_names_force(media: Path, tmp_path: Path) -> None:
    archive = tmp_path / "backup.tar.gz"
    call_command("backup", "--output", str(archive))

    with pytest.raises(CommandError, match=r"is not empty .* pass --force"):
        call_command("restore", str(archive))


def test_a_file_that_is_no_backup_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tar file")

    with pytest.raises(CommandError, match="is not a readable backup archive"):
        call_command("restore", str(junk))


def test_a_scheduled_backup_is_copied_off_site_and_pruned_there(
    settings: Settings, media: Path, tmp_path: Path
) -> None:
    # A filesystem storage in the place of BACKUP_STORAGE_URL's bucket.
    offsite = tmp_path / "offsite"
    offsite.mkdir()
    old = offsite / f"{settings.PROJECT_SLUG}-20200101T000000Z.tar.gz"
    old.write_bytes(b"")
    settings.STORAGES = settings.STORAGES | {
        "backups": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": offsite},
        }
    }
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.BACKUP_KEEP = 1

    call_command("backup")

    [archive] = selectors.archives(settings.BACKUP_DIR)
    assert [p.name for p in offsite.iterdir()] == [archive.name]
    assert (offsite / archive.name).read_bytes() == archive.read_bytes()


def test_a_restore_by_name_fetches_the_archive_from_off_site(
    settings: Settings, media: Path, tmp_path: Path
) -> None:
    offsite = tmp_path / "offsite"
    settings.STORAGES = settings.STORAGES | {
        "backups": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": offsite},
        }
    }
    settings.BACKUP_DIR = tmp_path / "backups"
    call_command("backup")
    [archive] = selectors.archives(settings.BACKUP_DIR)
    archive.unlink()

    # Fetched, then refused like a local archive: the test database has tables.
    with pytest.raises(CommandError, match=r"is not empty .* pass --force"):
        call_command("restore", archive.name)
    with pytest.raises(CommandError, match="neither a file here nor an archive"):
        call_command("restore", "missing.tar.gz")
