"""What a generated project's settings assign, read from their source without importing them."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any


def assignment(module: Path, name: str) -> ast.expr:
    """The expression *module* assigns to *name* at its top level."""
    for node in ast.parse(module.read_text()).body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        else:
            continue
        if [t.id for t in targets if isinstance(t, ast.Name)] == [name]:
            return node.value
    raise AssertionError(f"{module} assigns no {name}")


def assigned(module: Path, name: str) -> Any:
    """The literal value *module* assigns to *name* at its top level."""
    return ast.literal_eval(assignment(module, name))


def required_in_production(project: Path) -> set[str]:
    """The variables production settings refuse to start without.

    base.py lists the ones every project needs and unpacks each stack module's
    ``*_REQUIRED_IN_PRODUCTION`` (config/settings/database.py, cache.py, ...).
    """
    settings = project / "config" / "settings"
    required: set[str] = set()
    listed = assignment(settings / "base.py", "REQUIRED_IN_PRODUCTION")
    assert isinstance(listed, ast.List)
    for element in listed.elts:
        if isinstance(element, ast.Starred):
            assert isinstance(element.value, ast.Name)
            prefix = element.value.id.removesuffix("_REQUIRED_IN_PRODUCTION").lower()
            module = settings / f"{prefix}.py"
            required |= set(assigned(module, element.value.id))
        else:
            required.add(ast.literal_eval(element))
    return required
