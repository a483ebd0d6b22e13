"""A backup restores: every row of every table and the uploaded files come back.

For each queue (and broker) on PostgreSQL, and for SQLite and MySQL, under production
settings: users and an uploaded file are created, ``manage.py backup`` writes
its archive, the database is dropped and created empty, the file deleted, and
``manage.py restore`` brings back every table's rows (compared row by row) and
the file. A database that holds tables is refused without ``--force`` and
replaced with it. With ``BACKUP_STORAGE_URL`` naming a bucket on a real S3 API
server (moto), a scheduled backup lands in the bucket and restores from there.
The dump is pg_dump's, mariadb-dump's or SQLite's backup API's, run as the project runs them:
no server starts, each step is one manage.py call.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.building import build
from tests.support.combinations import Combination
from tests.support.object_storage import PrivateS3
from tests.support.production import fresh_database_url, production_env
from tests.support.project import Project, explain
from tests.support.selection import closest_to_defaults

pytestmark = pytest.mark.slow

USERS = 6
UPLOAD = "backup-proof/avatar.bin"
UPLOAD_BYTES = bytes(range(256)) * 64

# Every table's rows, each row as JSON, sorted: two snapshots are equal when
# the tables hold the same rows, whatever order a scan returns them in.
SNAPSHOT = """
import json
from django.db import connection
tables = {}
with connection.cursor() as cursor:
    for table in connection.introspection.table_names():
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
        tables[table] = sorted(json.dumps(row, default=str) for row in cursor.fetchall())
print(json.dumps(tables))
"""

CREATE_DATA = f"""
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from apps.users.models import User
for number in range({USERS}):
    User.objects.create_user(email=f"user{{number}}@example.com", password="not-a-secret-1")
default_storage.save({UPLOAD!r}, ContentFile({UPLOAD_BYTES!r}))
"""


# What a backup says when the database's dump tool is not on PATH.
MISSING_TOOL = {
    "postgresql": "pg_dump not found on PATH",
    "mysql": "mariadb-dump or mysqldump not found on PATH",
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    by_database = closest_to_defaults(metafunc.config, "database")
    if "combination" in metafunc.fixturenames:
        queues = closest_to_defaults(metafunc.config, "task_queue", "celery_broker")
        # The queues' are PostgreSQL's; then SQLite's and MySQL's.
        others = [c for c in by_database if c.answers["database"] != "postgresql"]
        metafunc.parametrize("combination", grouped([*queues, *others]), scope="module")
    if "server_combination" in metafunc.fixturenames:
        servers = [c for c in by_database if c.answers["database"] in MISSING_TOOL]
        metafunc.parametrize("server_combination", grouped(servers))
    if "postgresql_combination" in metafunc.fixturenames:
        # One is enough: the tool is looked up the same way whatever the queue.
        postgresql = [c for c in by_database if c.answers["database"] == "postgresql"]
        metafunc.parametrize("postgresql_combination", grouped(postgresql))


def grouped(combinations: list[Combination]) -> list[Any]:
    """One parameter per combination, run on the xdist worker that builds it."""
    return [pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.id)) for c in combinations]


@dataclass
class BackedUp:
    project: Project
    env: dict[str, str]
    archive: Path
    rows: dict[str, list[str]]

    def manage(self, *args: str, **env: str) -> Any:
        return self.project.manage(*args, env=self.env | env)

    def snapshot(self) -> dict[str, list[str]]:
        result = self.manage("shell", "-v", "0", "-c", SNAPSHOT)
        assert result.returncode == 0, explain(result)
        return dict(json.loads(result.stdout.strip().splitlines()[-1]))

    @property
    def upload(self) -> Path:
        return self.project.path / "media" / UPLOAD

    def drop_database(self) -> None:
        """Drop the database and create it empty; delete the uploaded file."""
        fresh_database_url(self.project, "backups")
        shutil.rmtree(self.upload.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def backed_up(combination: Combination, copie_session: Any) -> Iterator[BackedUp]:
    """A production database with users and an upload, and the archive `backup` wrote of it."""
    project = build(combination, copie_session)
    env = production_env(project) | {"DATABASE_URL": fresh_database_url(project, "backups")}
    state = BackedUp(project, env, project.path / "backups-proof" / "backup.tar.gz", {})
    shutil.rmtree(state.archive.parent, ignore_errors=True)
    shutil.rmtree(state.upload.parent, ignore_errors=True)
    for step in (("migrate", "--noinput"), ("shell", "-v", "0", "-c", CREATE_DATA)):
        result = state.manage(*step)
        assert result.returncode == 0, explain(result)
    state.rows = state.snapshot()
    result = state.manage("backup", "--output", str(state.archive))
    assert result.returncode == 0, explain(result)
    yield state
    shutil.rmtree(state.archive.parent, ignore_errors=True)
    shutil.rmtree(state.upload.parent, ignore_errors=True)


def test_a_restore_into_an_empty_database_brings_back_every_row_and_upload(
    backed_up: BackedUp, record_property: Any
) -> None:
    backed_up.drop_database()
    assert backed_up.snapshot() == {}, "the database was not empty before the restore"
    assert not backed_up.upload.exists()

    result = backed_up.manage("restore", str(backed_up.archive))

    assert result.returncode == 0, explain(result)
    restored = backed_up.snapshot()
    assert restored == backed_up.rows
    assert len(restored["users_user"]) == USERS
    assert backed_up.upload.read_bytes() == UPLOAD_BYTES
    rows = sum(len(table) for table in restored.values())
    record_property(
        "backups",
        f"{len(restored)} tables, {rows} rows and 1 upload equal after a restore "
        f"({backed_up.archive.stat().st_size} bytes archive)",
    )


def test_a_restore_into_a_database_with_tables_is_refused_unless_forced(
    backed_up: BackedUp,
) -> None:
    backed_up.drop_database()
    for step in (("migrate", "--noinput"), ("shell", "-v", "0", "-c", CREATE_DATA)):
        result = backed_up.manage(*step)
        assert result.returncode == 0, explain(result)
    other_rows = backed_up.snapshot()
    assert other_rows != backed_up.rows  # other users, other password hashes

    refused = backed_up.manage("restore", str(backed_up.archive))

    assert refused.returncode != 0
    assert "is not empty" in refused.stderr
    assert "--force" in refused.stderr
    assert backed_up.snapshot() == other_rows, "a refused restore changed the database"

    forced = backed_up.manage("restore", "--force", str(backed_up.archive))

    assert forced.returncode == 0, explain(forced)
    assert backed_up.snapshot() == backed_up.rows


def test_a_backup_without_the_client_tools_names_the_missing_tool(
    server_combination: Combination, copie_session: Any
) -> None:
    project = build(server_combination, copie_session)
    env = production_env(project) | {"DATABASE_URL": fresh_database_url(project, "backups")}
    archive = project.path / "backups-proof" / "never.tar.gz"

    # The project's own venv only: no database client tools on PATH.
    result = project.manage(
        "backup", "--output", str(archive), env=env | {"PATH": str(project.venv / "bin")}
    )

    assert result.returncode != 0
    assert MISSING_TOOL[server_combination.answers["database"]] in result.stderr
    assert "Traceback" not in result.stderr
    assert not archive.exists()


def test_a_scheduled_backup_goes_to_object_storage_and_restores_from_it(
    postgresql_combination: Combination,
    copie_session: Any,
    s3: PrivateS3,
    tmp_path: Path,
    record_property: Any,
) -> None:
    project = build(postgresql_combination, copie_session)
    bucket = s3.new_bucket()
    offsite = {
        **s3.media_env(bucket),
        "MEDIA_STORAGE_URL": "",
        "BACKUP_STORAGE_URL": f"s3://{bucket}/backups",
        "BACKUP_DIR": str(tmp_path / "backups"),
    }
    env = production_env(project) | {"DATABASE_URL": fresh_database_url(project, "backups")}
    state = BackedUp(project, env | offsite, tmp_path, {})
    shutil.rmtree(state.upload.parent, ignore_errors=True)
    for step in (("migrate", "--noinput"), ("shell", "-v", "0", "-c", CREATE_DATA)):
        result = state.manage(*step)
        assert result.returncode == 0, explain(result)
    state.rows = state.snapshot()

    result = state.manage("backup")

    assert result.returncode == 0, explain(result)
    [archive] = (tmp_path / "backups").glob("*.tar.gz")
    assert s3.keys(bucket) == [f"backups/{archive.name}"]
    stored = s3.client().get_object(Bucket=bucket, Key=f"backups/{archive.name}")["Body"].read()
    assert stored == archive.read_bytes()

    # The host is lost: no local archive, an empty database, no upload.
    archive.unlink()
    state.drop_database()
    restored = state.manage("restore", archive.name)

    assert restored.returncode == 0, explain(restored)
    assert state.snapshot() == state.rows
    assert state.upload.read_bytes() == UPLOAD_BYTES
    record_property(
        "backups",
        f"off-site: s3://{bucket}/backups/{archive.name} ({len(stored)} bytes) restored "
        f"{sum(len(rows) for rows in state.rows.values())} rows",
    )
