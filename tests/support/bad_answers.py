"""Every validator of copier.yml, with an answer it refuses, its message and a fix.

test_bad_input gives these answers with ``--data`` and test_prompts types them
at the prompt: each mode must show the same message.
"""

from __future__ import annotations

from typing import NamedTuple


class BadAnswer(NamedTuple):
    question: str
    invalid: str
    message: str  # the beginning of what copier shows, fixed whatever the answer
    valid: str  # typed at the same prompt, it is accepted


BAD_ANSWERS = [
    BadAnswer("project_name", "  ", "project_name must not be empty", "Fixed Name"),
    BadAnswer(
        "project_slug", "My-App", "project_slug must be a valid Python package name", "my_app"
    ),
    BadAnswer("project_slug", "2fast", "project_slug must be a valid Python package name", "fast2"),
    BadAnswer("project_slug", "django", "project_slug 'django' would shadow a module", "shop"),
    BadAnswer("author_name", " ", "author_name must not be empty", "Ada"),
    BadAnswer(
        "author_email",
        "not-an-email",
        "author_email must look like name@example.com",
        "dev@example.org",
    ),
    BadAnswer(
        "domain_name",
        "https://example.com/",
        "domain_name must be a lowercase host name",
        "shop.example.org",
    ),
    BadAnswer(
        "timezone", "Mars/Olympus_Mons", "timezone must be an IANA time zone name", "Asia/Tokyo"
    ),
    BadAnswer(
        "admin_url_path", "admin/", "admin_url_path must not be the default admin/", "staff-9/"
    ),
    BadAnswer("admin_url_path", "/secret", "admin_url_path must be lowercase letters", "secret-9/"),
]


def case_id(bad: BadAnswer) -> str:
    return f"{bad.question}={bad.invalid.strip() or 'blank'}"
