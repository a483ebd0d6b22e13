"""SQLite: a consistent copy through sqlite3's online backup API, while the site runs."""

import sqlite3
from contextlib import closing
from pathlib import Path

from django.db import connection

DUMP_NAME = "database.sqlite3"


def dump(path: Path) -> None:
    """Copy the committed database; with WAL, writers go on meanwhile."""
    # A connection of its own: one inside a transaction could not be copied from.
    with closing(sqlite3.connect(live_file())) as source, closing(sqlite3.connect(path)) as target:
        source.backup(target)


def load(path: Path, *, replace: bool) -> None:
    """Copy the backup over the database, every page (so *replace* needs no step of its own)."""
    connection.close()
    with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(live_file())) as target:
        source.backup(target)


def live_file() -> str:
    return str(connection.settings_dict["NAME"])
