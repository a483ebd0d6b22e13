"""The commands the READMEs print, and the shell of a new user who runs them."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.support import toolchain
from tests.support.combinations import default
from tests.support.project import LEAKY, SERVICE_VARIABLES


def readme_command(readme: Path, marker: str) -> str:
    """The command in the code block that follows ``<!-- marker -->``."""
    match = re.search(rf"<!-- {marker} -->\s*```sh\n(.+?)\n```", readme.read_text(), re.S)
    assert match, f"{readme} has no '{marker}' block"
    return match.group(1).strip()


def new_user_env() -> dict[str, str]:
    """A shell with uv and Python but no service URL and no settings module."""
    env = {k: v for k, v in os.environ.items() if k not in LEAKY + SERVICE_VARIABLES}
    env["PATH"] = f"{Path(toolchain.uv()).parent}{os.pathsep}{env.get('PATH', '')}"
    env["UV_PYTHON"] = toolchain.python(default("python_version"))
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return env
