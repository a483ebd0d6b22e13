"""Errors in a view and in a task reach Sentry once each, tagged with the request id, scrubbed.

For each queue (and broker), and for SQLite: the generated project runs under
production settings with gunicorn and its real worker on its real broker, with
SENTRY_DSN pointing at an inbox of this test that speaks Sentry's envelope
protocol (the stand-in for sentry.io). One request reaches a view that enqueues
the welcome e-mail task for an id that is no user's id (the task raises) and
then raises itself. The request carries a session cookie, a CSRF cookie, an
Authorization header and a password in its body, each a fresh secret.

The view is a test-only URLconf in a package outside the project (a settings
module that adds it to production's), so the project's own files stay as
generated. The processes are stopped before counting: sentry-sdk flushes what
it still holds on exit (a worker's child processes do not, hence a short wait).
"""

from __future__ import annotations

import json
import secrets
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.building import build
from tests.support.combinations import Combination
from tests.support.mailbox import Mailbox
from tests.support.production import release
from tests.support.project import explain
from tests.support.selection import closest_to_defaults
from tests.support.sentry_inbox import SentryInbox, exception_types, tags
from tests.support.server import gunicorn
from tests.support.waiting import wait_until
from tests.support.workers import wait_for_worker, worker

pytestmark = pytest.mark.slow

PROBE_PATH = "/api/probe/failure/"
RELEASE = "probe-release-1"
ENVIRONMENT = "error-tracking-test"
# A worker's child process exits without flushing what sentry-sdk still holds:
# the processes run this long after both reports arrived, before they are stopped.
SETTLE_SECONDS = 2
# Text each failure's report holds: the view's exception message, the task's argument.
FAILURE_MARKS = ("probe failure", "not-a-user-id")
SECRETS = ("session", "csrf", "bearer", "password", "password1", "refresh")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "tracked_combination" in metafunc.fixturenames:
        chosen = {
            c.id: c
            for c in [
                *closest_to_defaults(metafunc.config, "task_queue", "celery_broker"),
                *(
                    c
                    for c in closest_to_defaults(metafunc.config, "database")
                    if c.answers["database"] == "sqlite"
                ),
            ]
        }
        metafunc.parametrize(
            "tracked_combination",
            [
                pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.id))
                for c in chosen.values()
            ],
        )


def write_probe(directory: Path, queue: str) -> None:
    """Production settings, plus a view that enqueues a failing task and then fails itself."""
    package = directory / "sentry_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(
        'from config.settings.production import *\n\nROOT_URLCONF = "sentry_probe.urls"\n'
    )
    enqueue = (
        ""
        if queue == "none"
        else "    from apps.users.tasks import enqueue_welcome_email\n\n"
        '    enqueue_welcome_email("not-a-user-id")  # the task raises: no such id\n'
    )
    (package / "urls.py").write_text(
        textwrap.dedent(
            """\
            import json

            from django.urls import include, path
            from django.views.decorators.csrf import csrf_exempt

            from config.urls import handler400, handler404, handler500


            @csrf_exempt
            def failure(request):
                password = json.loads(request.body)["password"]  # a local in the event's frame
            {enqueue}    raise RuntimeError(f"probe failure, password length {{len(password)}}")


            urlpatterns = [path("{path}", failure), path("", include("config.urls"))]
            """
        ).format(enqueue=enqueue, path=PROBE_PATH.lstrip("/"))
    )


def test_a_failing_view_and_task_each_reach_sentry_once_tagged_and_scrubbed(
    tracked_combination: Combination,
    copie_session: Any,
    tmp_path: Path,
    record_property: pytest.RecordProperty,
) -> None:
    project = build(tracked_combination, copie_session)
    queue = project.answers["task_queue"]
    write_probe(tmp_path, queue)
    secret = {name: secrets.token_hex(16) for name in SECRETS}

    # The 500 e-mails ADMINS too: a mail server that takes it, so the answer is the error page.
    with SentryInbox() as inbox, Mailbox() as mailbox:
        # The project's released deployment (migrated, static collected), shared
        # with the other served tests of this combination.
        env = {
            **release(project),
            "EMAIL_URL": mailbox.url,
            "DJANGO_SETTINGS_MODULE": "sentry_probe.settings",
            "PYTHONPATH": str(tmp_path),
            "SENTRY_DSN": inbox.dsn,
            "SENTRY_ENVIRONMENT": ENVIRONMENT,
            "SENTRY_RELEASE": RELEASE,
            "CELERY_TASK_DEFAULT_QUEUE": f"sentry-{uuid.uuid4().hex[:10]}",
            "HUEY_QUEUE_NAME": f"sentry_{uuid.uuid4().hex[:10]}",
            "DJANGO_Q_CLUSTER_NAME": f"sentry-{uuid.uuid4().hex[:10]}",
            "DJANGO_Q_WORKERS": "1",
        }
        checked = project.manage(
            "prodcheck", "--json", "--fail-under", "0", "--worker-timeout", "0.1", env=env
        )
        assert checked.returncode == 0, explain(checked)
        with gunicorn(project, env) as url:
            if queue == "none":
                answer = send_failing_request(url, secret)
                wait_for_events(inbox, answer, expected=1, project=project)
                time.sleep(SETTLE_SECONDS)
            else:
                # Once both reports are in, the worker need not stop gracefully:
                # qcluster, its whole group signalled, takes the full 30 s otherwise.
                with worker(project, env, "worker-sentry.log", grace=5):
                    wait_for_worker(project, env, "worker-sentry.log")
                    answer = send_failing_request(url, secret)
                    wait_for_events(inbox, answer, expected=2, project=project)
                    time.sleep(SETTLE_SECONDS)  # a second report of either would arrive now
        request_id = answer.headers["X-Request-ID"]
        events = list(inbox.events)
        raw = inbox.raw_bytes()

    # Every event about these two failures, whatever reported it (an integration,
    # a logged error, the queue's own failure line): each failure once.
    related = [e for e in events if any(mark in json.dumps(e) for mark in FAILURE_MARKS)]
    view_events = [e for e in related if "RuntimeError" in exception_types(e)]
    task_events = [e for e in related if "ValidationError" in exception_types(e)]
    leaked = sorted(name for name, value in secret.items() if value.encode() in raw)
    record_property(
        "error_tracking",
        f"{project.combination.id}: {len(related)} events about the failures of {len(events)} "
        f"received ({len(view_events)} from the view, {len(task_events)} from the {queue} task), "
        f"tagged {request_id}; secrets found in {len(raw)} payload bytes: {leaked or 'none'}",
    )
    # prodcheck says where errors go, outside its score, naming no key.
    assert json.loads(checked.stdout)["extras"]["Error tracking"] == (
        f"Sentry, project {inbox.project_id} at 127.0.0.1; "
        f"environment {ENVIRONMENT}, release {RELEASE}"
    )
    assert inbox.key not in checked.stdout
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "server_error"
    assert len(view_events) == 1, related
    assert len(task_events) == (0 if queue == "none" else 1), related
    assert len(related) == len(view_events) + len(task_events), related
    for event in related:
        assert tags(event)["request_id"] == request_id
        assert event["environment"] == ENVIRONMENT
        assert event["release"] == RELEASE
    assert leaked == []

    # The view's event describes the request, with what could be kept of it.
    [view_event] = view_events
    request = view_event["request"]
    assert request["url"].endswith(PROBE_PATH)
    assert request["method"] == "POST"
    # The body is sent, its secret fields scrubbed, so what is missing was taken out.
    assert request["data"]["email"] == "probe@example.com"
    assert request["data"]["password1"] == "[Filtered]"
    headers = {name.lower(): value for name, value in request["headers"].items()}
    assert headers["content-type"] == "application/json"
    assert {headers.get("authorization", ""), headers.get("cookie", "")} <= {"", "[Filtered]"}
    frame_vars = [
        f.get("vars", {}) for f in view_event["exception"]["values"][-1]["stacktrace"]["frames"]
    ]
    assert any(v.get("password") == "[Filtered]" for v in frame_vars), frame_vars
    assert "user" not in view_event or "ip_address" not in view_event["user"]


def send_failing_request(url: str, secret: dict[str, str]) -> requests.Response:
    """What a signed-in browser or API client would send, through the TLS proxy."""
    return requests.post(
        url + PROBE_PATH,
        # A sign-up form's second password field and a JWT refresh token, beside the password.
        json={
            "email": "probe@example.com",
            "password": secret["password"],
            "password1": secret["password1"],
            "refresh": secret["refresh"],
        },
        headers={
            "X-Forwarded-Proto": "https",
            "Cookie": f"__Secure-sessionid={secret['session']}; "
            f"__Secure-csrftoken={secret['csrf']}",
            "Authorization": f"Bearer {secret['bearer']}",
        },
        timeout=30,
    )


def wait_for_events(
    inbox: SentryInbox, answer: requests.Response, *, expected: int, project: Any
) -> None:
    request_id = answer.headers.get("X-Request-ID", "")
    log = project.path / "worker-sentry.log"
    wait_until(
        lambda: len(inbox.tagged(request_id)) >= expected,
        timeout=60,
        message=f"{len(inbox.tagged(request_id))} of {expected} events tagged {request_id} "
        f"arrived ({len(inbox.events)} in all); answer {answer.status_code} {answer.text[:500]}\n"
        f"{log.read_text()[-4000:] if log.exists() else ''}\n"
        f"{(project.path / 'gunicorn.log').read_text()[-4000:]}",
    )
