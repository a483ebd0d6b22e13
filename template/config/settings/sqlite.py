"""SQLite tuned for a web server on one host: the database when DATABASE_URL is unset."""

from pathlib import Path
from typing import Any

from config.settings.environment import env


def sqlite_database(path: Path | str) -> dict[str, Any]:
    """Return SQLite settings that let web workers share one file.

    WAL lets reads run beside the single writer; IMMEDIATE transactions take
    the write lock up front, so two writers queue (up to the busy timeout)
    instead of one failing with "database is locked" half-way through.
    """
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        # Each worker keeps its connection, so the PRAGMAs run once, not per request.
        "CONN_MAX_AGE": env.int("DATABASE_CONN_MAX_AGE", default=600),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": env.float("DATABASE_BUSY_TIMEOUT", default=5.0),
        },
    }
