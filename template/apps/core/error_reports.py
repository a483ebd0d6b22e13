"""What operators are told about errors: reports that leak no credentials, mail that stays quiet."""

import logging
import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

# The user-info part of a URL: scheme://user:password@host, or scheme://:password@host.
URL_PASSWORD = re.compile(r"(?P<start>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@", re.IGNORECASE)


class CredentialMaskingFilter(SafeExceptionReporterFilter):
    """Django's filter, also masking the password of every URL in settings and request META.

    Django masks settings by name (KEY, PASS, SECRET...); service URLs such as
    CACHES' LOCATION or CELERY_BROKER_URL carry passwords under other names.
    """

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            return URL_PASSWORD.sub(rf"\g<start>{self.cleansed_substitute}@", cleansed)
        return cleansed


class AsWarning(logging.Filter):
    """Log the record at WARNING: for events that are the client's doing, not the site's."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True
