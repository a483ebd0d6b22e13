"""The JSON schemas of config formats (Compose, Fly, kustomization...), kept outside the repo.

They live in ``shared/schemas`` beside the repository's folder; ``DJANGO_PROD_SCHEMAS``
points elsewhere (README.md, "Run the tests").
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.combinations import TEMPLATE_ROOT

SCHEMAS = Path(os.environ.get("DJANGO_PROD_SCHEMAS", TEMPLATE_ROOT.parent / "shared" / "schemas"))


def schema_path(name: str) -> Path:
    """The schema file *name*; a missing one fails, saying where it was looked for."""
    path = SCHEMAS / name
    assert path.is_file(), (
        f"{path} not found: the config-format schemas live in shared/schemas beside this "
        "repository (point DJANGO_PROD_SCHEMAS at a folder holding them)"
    )
    return path
