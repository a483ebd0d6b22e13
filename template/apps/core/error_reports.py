"""What operators are told about errors: reports that leak no credentials, mail that stays quiet."""

import logging
import re
from typing import Any

from django.utils.log import AdminEmailHandler
from django.views.debug import SafeExceptionReporterFilter

logger = logging.getLogger(__name__)

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


class ErrorMail(AdminEmailHandler):
    """Django's error e-mail to ADMINS that never fails the request it reports.

    With MAILERS, Django sends it without fail_silently: a mail server that is
    down would turn the 500 page into a dropped connection.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            super().emit(record)
        except Exception:
            logger.warning("error report not e-mailed to ADMINS", exc_info=True)
