"""What a generated project's settings assign, read from their source without importing them."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any


def assigned(module: Path, name: str) -> Any:
    """The literal value *module* assigns to *name* at its top level."""
    for node in ast.parse(module.read_text()).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if [t.id for t in targets if isinstance(t, ast.Name)] == [name]:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{module} assigns no {name}")


def required_in_production(project: Path) -> set[str]:
    """The variables production settings refuse to start without (config/settings/stack.py)."""
    return set(assigned(project / "config" / "settings" / "stack.py", "REQUIRED_IN_PRODUCTION"))
