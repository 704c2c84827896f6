"""`sync/` is a pure library: no Flask anywhere in it (the apps wire it into HTTP)."""

from __future__ import annotations

import ast
from pathlib import Path

import sync


def test_sync_never_imports_flask() -> None:
    offenders = []
    for path in Path(sync.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.name}: {n}"
                for n in names
                if n.split(".")[0] in ("flask", "werkzeug", "common", "edge", "hub")
            ]
    assert offenders == []
