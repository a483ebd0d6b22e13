"""Backups of the database and the media files, and their restore (services.py)."""


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""
