"""The template branches by file, not by ``{% if %}``: no template file grows a ladder.

An answer's variant is a file of its own, selected by a conditional file name,
or a name computed once in extensions/context.py; a template file keeps at
most a few ``{% if %}``/``{% elif %}`` for what is left.
"""

import re

from tests.support.combinations import TEMPLATE_ROOT

MAX_BRANCHES = 8
BRANCH = re.compile(r"\{%-?\s*(?:if|elif)\b")


def branches_per_file() -> dict[str, int]:
    counts = {}
    for folder in ("template", "partials"):
        for path in (TEMPLATE_ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                text = path.read_text(errors="replace")
                counts[path.relative_to(TEMPLATE_ROOT).as_posix()] = len(BRANCH.findall(text))
    return counts


def test_no_template_file_has_more_than_eight_if_or_elif() -> None:
    over = {name: count for name, count in branches_per_file().items() if count > MAX_BRANCHES}

    assert not over, f"more than {MAX_BRANCHES} {{% if %}}/{{% elif %}} (branch by file): {over}"
