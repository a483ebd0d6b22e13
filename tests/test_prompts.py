"""The interactive questions, answered with keystrokes in a real pseudo-terminal.

Each test runs ``copier copy`` the way a user does, in a pty through pexpect,
waits for each question to be drawn (copier shows a question by its ``help``
text from copier.yml), answers it with keys, and reads what copier draws.
Free-text questions come with their default already typed in, so an answer
first clears the line (Ctrl-U); choice questions start on their default and
are answered with the arrow keys and Enter.

Questionary (prompt_toolkit) draws with ANSI escapes and redraws only the
characters that changed, so what is drawn is matched as plain substrings of
the output with the escapes removed. Copier validates an answer while it is
typed; a validation message is matched by its fixed beginning, which is drawn
whole when the message first appears, not by its "(got ...)" end, which later
keystrokes may redraw only in part.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pexpect
import pytest

from extensions.context import UNSUPPORTED, unsupported_reason
from tests.support.bad_answers import BAD_ANSWERS, BadAnswer, case_id
from tests.support.combinations import (
    AXES,
    DEPENDENT,
    TEMPLATE_ROOT,
    Combination,
    choices,
    default,
    default_combination,
    questions,
    recorded_answers,
    supported_combinations,
    unsupported_combinations,
)

pytestmark = pytest.mark.xdist_group("prompts")

COPIER_COPY = ["-m", "copier", "copy", "--trust", "--vcs-ref", "HEAD"]  # run by sys.executable
TIMEOUT = 30  # seconds for copier to draw what is expected next, or to finish
CLEAR_LINE, ENTER, UP, DOWN = "\x15", "\r", "\x1b[A", "\x1b[B"
ANSI_ESCAPE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>])")


def help_text(question: str) -> str:
    """What copier draws to ask *question*."""
    return str(questions()[question]["help"])


def question_after(question: str) -> str:
    names = list(questions())
    return names[names.index(question) + 1]


def asked_questions(answers: Mapping[str, str] | None = None) -> list[str]:
    """The questions copier asks, in order, when the choices are *answers* or the defaults."""
    chosen = {axis: default(axis) for axis in AXES} | dict(answers or {})
    return [
        name
        for name in questions()
        if name not in DEPENDENT or DEPENDENT[name](chosen)  # the `when` rules of copier.yml
    ]


def refusal(question: str, choice: str, earlier: Mapping[str, str]) -> str:
    """Why *choice* is disabled after the *earlier* answers (copier.yml's choice validators)."""
    if question != "deploy_target":
        return ""
    return unsupported_reason(**{**earlier, "deploy_target": choice})


class Terminal:
    """An interactive ``copier copy`` and what it has drawn so far, ANSI escapes removed."""

    def __init__(self, child: pexpect.spawn) -> None:
        self._child = child
        self._output = ""
        self._seen = 0  # where the next wait_for starts looking

    @property
    def screen(self) -> str:
        return ANSI_ESCAPE.sub("", self._output)

    def tail(self) -> str:
        return "copier drew, last lines:\n" + self.screen[-2000:]

    def _read(self, deadline: float, waiting_for: str) -> bool:
        """Add what copier draws next to the output; False once copier has exited."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"{waiting_for}: not done within {TIMEOUT} s\n{self.tail()}")
        try:
            self._output += self._child.read_nonblocking(4096, timeout=remaining)
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            return False
        return True

    def wait_for(self, *texts: str) -> str:
        """Wait until one of *texts* is drawn after the last match and return the first drawn."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            screen = self.screen
            drawn = [(at, text) for text in texts if (at := screen.find(text, self._seen)) >= 0]
            if drawn:
                at, text = min(drawn)
                self._seen = at + len(text)
                return text
            if not self._read(deadline, f"waiting for {texts}"):
                raise AssertionError(f"copier exited before drawing {texts}\n{self.tail()}")

    def finish(self) -> int | None:
        """Wait for copier to exit and return its exit status."""
        deadline = time.monotonic() + TIMEOUT
        while self._read(deadline, "waiting for copier to finish"):
            pass
        self._child.close()
        return self._child.exitstatus

    def enter_text(self, text: str) -> None:
        """Replace what the current free-text prompt holds with *text* and press Enter."""
        self._child.send(CLEAR_LINE + text + ENTER)

    def answer(self, question: str, value: str, earlier: Mapping[str, str]) -> None:
        """Wait for *question*; type *value*, or move to the choice *value* with the arrows.

        The arrows skip the choices that the *earlier* answers disable.
        """
        self.wait_for(help_text(question))
        if "choices" not in questions()[question]:
            self.enter_text(value)
            return
        offered = [c for c in choices(question) if not refusal(question, c, earlier)]
        moves = offered.index(value) - offered.index(default(question))
        for _ in range(abs(moves)):
            self._child.send(DOWN if moves > 0 else UP)
        self._child.send(ENTER)

    def accept_default(self, question: str) -> None:
        self.wait_for(help_text(question))
        self.press_enter()

    def press_enter(self) -> None:
        self._child.send(ENTER)

    def go_through(self, asked: Iterable[str], answers: Mapping[str, str]) -> None:
        """Answer the *asked* questions in turn: from *answers*, or with their default."""
        earlier: dict[str, str] = {}
        for question in asked:
            if question in answers:
                self.answer(question, answers[question], earlier)
                earlier[question] = answers[question]
            else:
                self.accept_default(question)
                earlier[question] = default(question)


@contextmanager
def interactive_copy(destination: Path, *, columns: int = 200) -> Iterator[Terminal]:
    """Run ``copier copy`` of this template into *destination* in a pseudo-terminal."""
    child = pexpect.spawn(
        sys.executable,
        [*COPIER_COPY, str(TEMPLATE_ROOT), str(destination)],
        # pexpect is no terminal emulator: it never answers prompt_toolkit's
        # cursor-position request, which would otherwise warn on every run.
        env={**os.environ, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"},
        dimensions=(40, columns),
        encoding="utf-8",
        timeout=TIMEOUT,
    )
    try:
        yield Terminal(child)
    finally:
        child.close(force=True)


def furthest_from_the_defaults() -> Combination:
    """The supported combination with a non-default auth that changes the most other axes."""
    defaults = default_combination().answers
    candidates = [c for c in supported_combinations() if c.answers["auth"] != defaults["auth"]]
    return max(candidates, key=lambda c: sum(c.answers.get(a) != defaults.get(a) for a in AXES))


TYPED_ANSWERS = {
    "project_name": "Arrow Keys Demo",
    "project_slug": "arrow_keys_demo",
    "description": "Answered through a pseudo-terminal.",
    "author_name": "Prompt Tester",
    "author_email": "prompts@example.org",
    "domain_name": "prompts.example.org",
    "timezone": "Europe/Paris",
    "admin_url_path": "backstage-42/",
}


def test_choosing_non_default_options_with_arrow_keys_is_recorded_in_the_answers_file(
    tmp_path: Path,
) -> None:
    destination = tmp_path / "project"
    python_version = next(v for v in choices("python_version") if v != default("python_version"))
    answers = TYPED_ANSWERS | {"python_version": python_version}
    answers |= furthest_from_the_defaults().answers

    with interactive_copy(destination) as terminal:
        terminal.go_through(asked_questions(answers), answers)
        assert terminal.finish() == 0, terminal.tail()

    recorded = recorded_answers(destination)
    assert {question: recorded.get(question) for question in answers} == answers


# The parametrization reads copier.yml: every task queue it offers is tried.
@pytest.mark.parametrize("task_queue", choices("task_queue"))
def test_celery_broker_is_asked_only_when_celery_is_chosen(tmp_path: Path, task_queue: str) -> None:
    with interactive_copy(tmp_path / "project") as terminal:
        asked = asked_questions()
        terminal.go_through(asked[: asked.index("task_queue") + 1], {"task_queue": task_queue})
        drawn_next = terminal.wait_for(
            help_text("celery_broker"), help_text(question_after("celery_broker"))
        )

    expected_next = "celery_broker" if task_queue == "celery" else question_after("celery_broker")
    assert drawn_next == help_text(expected_next)


@pytest.mark.parametrize("bad", BAD_ANSWERS, ids=case_id)
def test_an_invalid_answer_shows_its_message_and_is_asked_again(
    tmp_path: Path, bad: BadAnswer
) -> None:
    destination = tmp_path / "project"
    asked = asked_questions()
    index = asked.index(bad.question)
    before, after = asked[:index], asked[index + 1 :]

    with interactive_copy(destination) as terminal:
        terminal.go_through(before, {})
        terminal.answer(bad.question, bad.invalid, {})
        terminal.wait_for(f"Validation error for question '{bad.question}': {bad.message}")
        terminal.enter_text(bad.valid)  # the same prompt is still open: the fix answers it
        terminal.go_through(after, {})
        assert terminal.finish() == 0, terminal.tail()

    recorded = recorded_answers(destination)
    assert recorded[bad.question] == bad.valid
    if after:  # the fix did not land in the next question
        next_question = after[0]
        if "{{" in default(next_question):  # a default derived from the answers so far
            assert bad.valid not in str(recorded[next_question])
        else:
            assert recorded[next_question] == default(next_question)


def one_combination_per_reason() -> list[Any]:
    """For each reason a combination is refused, the first combination refused for it."""
    chosen: dict[str, Combination] = {}
    for combination, reason in unsupported_combinations():
        chosen.setdefault(reason, combination)
    return [pytest.param(c.answers, reason, id=c.id) for reason, c in chosen.items()]


@pytest.mark.parametrize(("answers", "reason"), one_combination_per_reason())
def test_a_deploy_target_the_answers_rule_out_is_shown_disabled_with_its_reason(
    tmp_path: Path, answers: dict[str, str], reason: str
) -> None:
    destination = tmp_path / "project"
    asked = asked_questions(answers)
    before = asked[: asked.index("deploy_target")]

    with interactive_copy(destination) as terminal:
        terminal.go_through(before, answers)
        terminal.wait_for(help_text("deploy_target"))
        terminal.wait_for(reason)  # drawn beside the disabled choice
        terminal.press_enter()  # the default target is still offered
        terminal.go_through(asked[len(before) + 1 :], {})
        assert terminal.finish() == 0, terminal.tail()

    assert recorded_answers(destination)["deploy_target"] == default("deploy_target")


# Copier draws a question as "🎤 " and its help: two columns for the emoji, one
# for the space, one left for the cursor.
HELP_COLUMNS = 80 - 4


def test_every_question_and_choice_fits_one_line_of_an_80_column_terminal() -> None:
    too_long = []
    for name, question in questions().items():
        lines = [str(question["help"])]
        if isinstance(question.get("choices"), dict):
            lines += list(question["choices"])  # the labels, drawn below the question
        too_long += [f"{name}: {line!r}" for line in lines if len(line) > HELP_COLUMNS]
        too_long += [f"{name}: {line!r} spans lines" for line in lines if "\n" in line]
    assert too_long == [], "longer than an 80-column terminal's line:\n" + "\n".join(too_long)


def test_a_disabled_target_shows_every_reason_the_answers_give(tmp_path: Path) -> None:
    answers = {"task_queue": "celery", "cache": "memcached", "database": "sqlite"}
    reasons = [
        reason
        for condition, reason in UNSUPPORTED
        if all((answers | {"deploy_target": "heroku"}).get(k) == v for k, v in condition.items())
    ]
    assert len(reasons) == 2, reasons  # database=sqlite and cache=memcached both rule it out
    asked = asked_questions(answers)
    before = asked[: asked.index("deploy_target")]

    # Wide enough that no reason is wrapped across lines, so each is found whole.
    with interactive_copy(tmp_path / "project", columns=1000) as terminal:
        terminal.go_through(before, answers)
        terminal.wait_for(help_text("deploy_target"))
        terminal.wait_for("Heroku: Procfile and app.json")
        drawn = [terminal.wait_for(reason) for reason in reasons]

    assert drawn == reasons
