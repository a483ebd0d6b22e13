"""A wrong answer is refused with a message that names the question and the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from extensions.context import UNSUPPORTED
from tests.support.bad_answers import BAD_ANSWERS, BadAnswer, case_id
from tests.support.building import copy_working_tree_with, without_repeated_work
from tests.support.combinations import TEMPLATE_ROOT, unsupported_combinations
from tests.support.processes import COPIER, run


def refuse(answers: dict[str, str], destination: Path) -> None:
    """Copy the working tree with *answers* in this process, as fast as the matrix renders."""
    with without_repeated_work():
        copy_working_tree_with(answers, destination)


@pytest.mark.parametrize("bad", BAD_ANSWERS, ids=case_id)
def test_an_invalid_answer_names_the_question_and_leaves_nothing_behind(
    tmp_path: Path, bad: BadAnswer
) -> None:
    destination = tmp_path / "project"

    with pytest.raises(ValueError, match="Validation error for question") as error:
        refuse({bad.question: bad.invalid}, destination)

    assert f"Validation error for question '{bad.question}': {bad.message}" in str(error.value)
    assert not destination.exists()


@pytest.mark.parametrize("bad", BAD_ANSWERS, ids=case_id)
def test_the_command_line_ends_with_the_message_when_data_is_invalid(
    tmp_path: Path, bad: BadAnswer
) -> None:
    destination = tmp_path / "project"

    result = run(
        [
            *COPIER,
            "copy",
            "--trust",
            "--defaults",
            "--vcs-ref",
            "HEAD",
            "--data",
            f"{bad.question}={bad.invalid}",
            str(TEMPLATE_ROOT),
            str(destination),
        ],
        timeout=120,
    )

    assert result.returncode != 0
    # Copier prints its traceback first; its last line is the question and the rule.
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith(
        f"ValueError: Validation error for question '{bad.question}': {bad.message}"
    ), result.stderr[-2000:]
    assert not destination.exists()


@pytest.mark.parametrize("question", ["auth", "task_queue", "cache", "database", "deploy_target"])
def test_an_unknown_choice_is_refused(tmp_path: Path, question: str) -> None:
    with pytest.raises(ValueError, match=question):
        refuse({question: "carrier-pigeon"}, tmp_path / "project")
    assert not (tmp_path / "project").exists()


@pytest.mark.parametrize(
    ("answers", "reason"),
    [pytest.param(c.answers, reason, id=c.id) for c, reason in unsupported_combinations()],
)
def test_an_unsupported_combination_is_refused_with_its_reason(
    tmp_path: Path, answers: dict[str, str], reason: str
) -> None:
    destination = tmp_path / "project"

    with pytest.raises(ValueError, match="Invalid choice for 'deploy_target'") as error:
        refuse(answers, destination)

    assert reason in " ".join(str(error.value).split())
    assert not destination.exists()


def test_the_readme_lists_every_unsupported_combination_with_its_reason() -> None:
    readme = (TEMPLATE_ROOT / "README.md").read_text()
    listed = readme.split("<!-- unsupported -->")[1].split("<!-- /unsupported -->")[0]
    listed = " ".join(listed.replace("`", "").split())

    for condition, reason in UNSUPPORTED:
        rule = " with ".join(f"{key}={value}" for key, value in condition.items())
        assert rule in listed
        assert reason.split(": ", 1)[1] in listed
