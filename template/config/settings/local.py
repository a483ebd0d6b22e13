"""Local development: debug pages, static files served from the app folders.

With no environment variables this runs on SQLite, a per-process cache and
in-process tasks; set DATABASE_URL, REDIS_URL and the broker URL (see
.env.example) to develop against the real services.
"""

from config.settings.base import *

DEBUG = True
