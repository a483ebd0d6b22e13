"""The generated project's hung dependency, shared with the served tests.

A listener that accepts connections and never answers (a hung broker, cache
or database) lives in the generated project's own tests; the served tests
load that same file rather than keeping a copy.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.combinations import TEMPLATE_ROOT

SOURCE = TEMPLATE_ROOT / "template" / "apps" / "core" / "tests" / "hung_server.py"


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("generated_hung_server", SOURCE)
    assert spec is not None and spec.loader is not None, f"cannot load {SOURCE}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def hung_server() -> Iterator[Any]:
    """A HungServer on loopback for the block's length; it hangs up at the end."""
    server = _load().HungServer()
    try:
        yield server
    finally:
        server.close()
