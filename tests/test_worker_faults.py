"""A worker killed in the middle of a task loses nothing and duplicates nothing in effect.

For each queue (and broker): welcome e-mails are enqueued for several new users
and consumed by the worker process the generated README starts, under
production settings, from the real broker. The worker is killed with SIGKILL
(its whole process group, as when a host dies) while a task is in the middle
of handing its message to the mail server, a new worker is started, and the
test waits until every user is stamped as welcomed.

The mail server is an aiosmtpd server of this test (the stand-in for an e-mail
provider) that holds each message for a moment, so the kill lands mid-send.
"Duplicated in effect" counts what each recipient's mailbox shows: messages by
Message-ID. A message the mail server took from the killed worker is sent
again by the retry with the same Message-ID; those raw redeliveries are
reported separately.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.support.building import build
from tests.support.combinations import Combination
from tests.support.mailbox import Mailbox, welcome_emails
from tests.support.private_servers import PrivateRabbitMQ, PrivateRedis, private_server
from tests.support.production import fresh_database_url, production_env, run_release_steps
from tests.support.project import Project, explain
from tests.support.selection import closest_to_defaults
from tests.support.server import gunicorn, stop_process_group
from tests.support.signin import Served, sign_up
from tests.support.waiting import wait_until
from tests.support.workers import shell, wait_for_worker, worker

pytestmark = pytest.mark.slow

TASKS = 8
SMTP_HOLD_SECONDS = 1.5
# Redis hands a dead worker's unacknowledged task to another after the
# visibility timeout (30 minutes in production settings); the test shortens it.
VISIBILITY_TIMEOUT = "8"

# Huey and django-q's Redis broker forget a task once a worker takes it: a
# periodic sweep (every minute) re-enqueues welcome e-mails still unsent after
# this many seconds (15 minutes in production settings); the test shortens it.
RESEND_AFTER_SECONDS = "5"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    queues = [
        c
        for c in closest_to_defaults(metafunc.config, "task_queue", "celery_broker")
        if c.answers["task_queue"] != "none"
    ]
    rabbitmq = [c for c in queues if c.answers.get("celery_broker") == "rabbitmq"]
    for fixture, combinations in (
        ("queue_combination", queues),
        ("rabbitmq_combination", rabbitmq),
    ):
        if fixture in metafunc.fixturenames:
            metafunc.parametrize(
                fixture,
                [
                    pytest.param(c, id=c.id, marks=pytest.mark.xdist_group(c.id))
                    for c in combinations
                ],
            )


def enqueue_welcome_emails(project: Project, env: dict[str, str], emails: list[str]) -> None:
    """Create the users and enqueue their welcome e-mails, as sign-ups do."""
    shell(
        project,
        env,
        "from apps.users.models import User\n"
        "from apps.users.tasks import enqueue_welcome_email\n"
        f"for email in {emails!r}:\n"
        "    user = User.objects.create_user(email=email, password=None)\n"
        "    enqueue_welcome_email(str(user.pk))\n",
    )


def welcomed(project: Project, env: dict[str, str]) -> int:
    output = shell(
        project,
        env,
        "import json\nfrom apps.users.models import User\n"
        "print(json.dumps(User.objects.filter(welcome_email_sent_at__isnull=False).count()))\n",
    )
    return int(json.loads(output.strip().splitlines()[-1]))


def test_a_worker_killed_mid_task_loses_and_duplicates_nothing(
    queue_combination: Combination, copie_session: Any, record_property: pytest.RecordProperty
) -> None:
    project = build(queue_combination, copie_session)
    with Mailbox(delay=SMTP_HOLD_SECONDS) as mailbox:
        env = {
            **production_env(project),
            "DATABASE_URL": fresh_database_url(project, "worker_faults"),
            "EMAIL_URL": mailbox.url,
            "CELERY_TASK_DEFAULT_QUEUE": f"faults-{uuid.uuid4().hex[:10]}",
            "CELERY_VISIBILITY_TIMEOUT": VISIBILITY_TIMEOUT,
            "HUEY_QUEUE_NAME": f"faults_{uuid.uuid4().hex[:10]}",
            "DJANGO_Q_CLUSTER_NAME": f"faults-{uuid.uuid4().hex[:10]}",
            "DJANGO_Q_WORKERS": "2",
            "WELCOME_EMAIL_RESEND_AFTER_SECONDS": RESEND_AFTER_SECONDS,
        }
        result = project.manage("migrate", "--noinput", env=env)
        assert result.returncode == 0, explain(result)
        emails = [f"fault-{n}@example.com" for n in range(TASKS)]
        enqueue_welcome_emails(project, env, emails)

        with worker(project, env, "worker-1.log") as first:
            # Let some tasks finish, then kill while another is mid-send.
            wait_until(
                lambda: len(mailbox.messages) >= 2 and mailbox.in_flight >= 1,
                timeout=90,
                message=f"the first worker never got going:\n{worker_log(project, 1)}",
            )
            in_flight_at_kill = mailbox.in_flight
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
        done_before_kill = welcomed(project, env)

        with worker(project, env, "worker-2.log"):
            # Each task sends, then stamps its user in the same transaction: wait on
            # the mail server here (asking Django costs a process start a poll).
            wait_until(
                lambda: all(mailbox.distinct_messages()[email] for email in emails),
                timeout=120,
                message=f"tasks never completed after the restart:\n{worker_log(project, 2)}",
            )
            wait_until(
                lambda: welcomed(project, env) == TASKS,
                timeout=30,
                message=f"e-mails sent but users not stamped:\n{worker_log(project, 2)}",
                interval=1,
            )
            time.sleep(SMTP_HOLD_SECONDS * 2)  # let any stray redelivery arrive before counting

        distinct = mailbox.distinct_messages()
        raw = mailbox.deliveries()

    lost = sum(1 for email in emails if distinct[email] == 0)
    duplicated = sum(distinct[email] - 1 for email in emails if distinct[email] > 1)
    redelivered = sum(raw.values()) - sum(distinct.values())
    record_property(
        "worker_faults",
        f"{queue_combination.id}: {TASKS} enqueued, worker SIGKILLed with {in_flight_at_kill} "
        f"mid-send and {done_before_kill} done; {welcomed(project, env)} completed, {lost} lost, "
        f"{duplicated} duplicated in effect ({redelivered} raw redeliveries, same Message-ID)",
    )
    assert in_flight_at_kill >= 1
    assert done_before_kill < TASKS, "the kill came after every task had finished"
    assert lost == 0, distinct
    assert duplicated == 0, distinct


def worker_log(project: Project, number: int) -> str:
    return (project.path / f"worker-{number}.log").read_text()[-5000:]


BROKER_VARIABLES = {
    "celery": "CELERY_BROKER_URL",
    "huey": "HUEY_REDIS_URL",
    "django-q2": "DJANGO_Q_REDIS_URL",
}
BEAT_COMMAND = ["celery", "-A", "config", "beat", "--loglevel=INFO"]
# The resend sweep runs every minute; the first may fall up to a minute after recovery.
SWEEP_WAIT_SECONDS = 150


@contextmanager
def beat(project: Project, env: dict[str, str]) -> Iterator[None]:
    """Celery's scheduler, which runs the resend sweep; huey and django-q2 schedule their own."""
    if project.answers["task_queue"] != "celery":
        yield
        return
    schedule = project.path / "celerybeat-schedule"
    with (project.path / "beat.log").open("wb") as log:
        process = subprocess.Popen(
            [str(project.venv / "bin" / BEAT_COMMAND[0]), *BEAT_COMMAND[1:], "-s", str(schedule)],
            cwd=project.path, env=project.environment(env, services=True),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            yield
        finally:
            stop_process_group(process)


@contextmanager
def private_broker(combination: Combination) -> Iterator[PrivateRedis | PrivateRabbitMQ]:
    """A started broker of the combination's kind that the test alone stops and starts."""
    kind = (
        PrivateRabbitMQ if combination.answers.get("celery_broker") == "rabbitmq" else PrivateRedis
    )
    with private_server(kind) as broker:
        yield broker


def test_a_signup_while_the_broker_is_down_succeeds_and_its_welcome_email_arrives_once_it_is_back(
    queue_combination: Combination,
    copie_session: Any,
    record_property: pytest.RecordProperty,
) -> None:
    project = build(queue_combination, copie_session)
    queue = project.answers["task_queue"]
    email = "signup-during-outage@example.com"
    with Mailbox() as mailbox, private_broker(queue_combination) as broker:
        env = {
            **production_env(project),
            "DATABASE_URL": fresh_database_url(project, "broker_outage"),
            "EMAIL_URL": mailbox.url,
            BROKER_VARIABLES[queue]: broker.url,
            "WELCOME_EMAIL_RESEND_AFTER_SECONDS": "1",
        }
        run_release_steps(project, env)
        with (
            gunicorn(project, env) as url,
            worker(project, env, "worker-outage.log"),
            beat(project, env),
        ):
            served = Served(project, url, env)
            wait_for_worker(project, env, "worker-outage.log")
            broker.stop()
            started = time.monotonic()
            answer = sign_up(served, email)
            signup_seconds = time.monotonic() - started
            assert signup_seconds < 8
            assert welcome_emails(mailbox, email) == set()

            broker.start()
            recovered_at = time.monotonic()
            wait_until(
                lambda: len(welcome_emails(mailbox, email)) >= 1,
                timeout=SWEEP_WAIT_SECONDS,
                message=f"no welcome e-mail after the broker came back:\n"
                f"{(project.path / 'worker-outage.log').read_text()[-5000:]}",
            )
            delivered_after = time.monotonic() - recovered_at
            time.sleep(3)  # a duplicate would arrive now
        copies = len(welcome_emails(mailbox, email))
    record_property(
        "worker_faults",
        f"{project.combination.id}: broker stopped: sign-up {answer.status_code} in "
        f"{signup_seconds:.2f} s; welcome e-mail delivered {delivered_after:.1f} s after the "
        f"broker came back, {copies} cop{'y' if copies == 1 else 'ies'}",
    )
    assert copies == 1


def test_the_worker_tests_pass_while_the_readme_worker_runs_on_the_same_broker(
    rabbitmq_combination: Combination, copie_session: Any
) -> None:
    """A developer's worker, started as the README says, and the project's own worker
    tests share one RabbitMQ: each Celery worker needs a node name of its own."""
    project = build(rabbitmq_combination, copie_session)
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "CELERY_TASK_DEFAULT_QUEUE": f"developer-{uuid.uuid4().hex[:10]}",
    }
    with worker(project, env, "developer-worker.log"):
        wait_for_worker(project, env, "developer-worker.log")
        result = project.run(
            "pytest", "-p", "no:cacheprovider", "--no-cov", "apps/users/tests/test_worker.py"
        )
    assert result.returncode == 0, explain(result)
