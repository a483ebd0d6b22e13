"""A wrong answer is refused with a message that names the question and the rule."""

from __future__ import annotations

from pathlib import Path

import copier
import pytest

from tests.support.combinations import TEMPLATE_ROOT, unsupported_combinations


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"project_name": "  "}, "project_name must not be empty"),
        ({"project_slug": "My-App"}, "project_slug must be a valid Python package name"),
        ({"project_slug": "2fast"}, "project_slug must be a valid Python package name"),
        ({"project_slug": "django"}, "project_slug 'django' would shadow a module"),
        ({"author_name": ""}, "author_name must not be empty"),
        ({"author_email": "not-an-email"}, "author_email must look like name@example.com"),
        ({"domain_name": "https://example.com/"}, "domain_name must be a lowercase host name"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone must be an IANA time zone name"),
        ({"admin_url_path": "admin/"}, "admin_url_path must not be the default admin/"),
        ({"admin_url_path": "/secret"}, "admin_url_path must be lowercase letters"),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, dict) else None,
)
def test_an_invalid_answer_names_the_question_and_leaves_nothing_behind(
    tmp_path: Path, answers: dict[str, str], message: str
) -> None:
    destination = tmp_path / "project"

    with pytest.raises(ValueError, match="Validation error for question") as error:
        copier.run_copy(
            str(TEMPLATE_ROOT), destination, data=answers, defaults=True, unsafe=True, quiet=True,
            vcs_ref="HEAD",
        )  # fmt: skip

    assert message in str(error.value)
    assert not destination.exists()


@pytest.mark.parametrize("question", ["auth", "task_queue", "cache", "database", "deploy_target"])
def test_an_unknown_choice_is_refused(tmp_path: Path, question: str) -> None:
    with pytest.raises(ValueError, match=question):
        copier.run_copy(
            str(TEMPLATE_ROOT), tmp_path / "project", data={question: "carrier-pigeon"},
            defaults=True, unsafe=True, quiet=True, vcs_ref="HEAD",
        )  # fmt: skip
    assert not (tmp_path / "project").exists()


@pytest.mark.parametrize(
    ("answers", "reason"),
    [pytest.param(c.answers, reason, id=c.id) for c, reason in unsupported_combinations()],
)
def test_an_unsupported_combination_is_refused_with_its_reason(
    tmp_path: Path, answers: dict[str, str], reason: str
) -> None:
    destination = tmp_path / "project"

    with pytest.raises(ValueError, match="Validation error for question 'deploy_target'") as error:
        copier.run_copy(
            str(TEMPLATE_ROOT), destination, data=answers, defaults=True, unsafe=True, quiet=True,
            vcs_ref="HEAD",
        )  # fmt: skip

    assert reason in " ".join(str(error.value).split())
    assert not destination.exists()
