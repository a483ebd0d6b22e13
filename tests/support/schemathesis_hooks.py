"""schemathesis hooks for fuzzing a session-authenticated API.

The session cookie is given to schemathesis as the ``cookieAuth`` credential,
so its authentication checks can take it away. The CSRF cookie and header a
browser page holds are not credentials; this hook adds them to every request.
"""

import os
from typing import Any

import schemathesis

CSRF_COOKIE = "__Secure-csrftoken"


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    token = os.environ.get("FUZZ_CSRF_TOKEN")
    if token:
        case.cookies = {**(case.cookies or {}), CSRF_COOKIE: token}
        case.headers = {**(case.headers or {}), "X-CSRFToken": token}
