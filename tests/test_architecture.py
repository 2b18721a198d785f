"""The design rules the code keeps, checked: where settings come from, and the asset graph."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.asset_graph import asset_graph_lines

PACKAGE = Path(__file__).resolve().parent.parent / "pipelines"
SNAPSHOT = Path(__file__).resolve().parent / "fixtures" / "asset_graph.txt"


def _environment_uses(path: Path) -> list[int]:
    """Lines of `path` that touch the process environment (os.environ, os.getenv, os.putenv)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if (isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv", "putenv", "unsetenv"})
        or (isinstance(node, ast.ImportFrom) and node.module == "os" and any(a.name == "environ" for a in node.names))
    ]


def test_only_the_settings_module_touches_the_environment():
    touching = {
        str(path.relative_to(PACKAGE)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := _environment_uses(path))
    }
    assert set(touching) == {"settings.py"}, f"the environment is read in settings.py only: {touching}"


def test_the_asset_graph_changes_only_deliberately(definitions):
    current = asset_graph_lines(definitions)
    recorded = SNAPSHOT.read_text(encoding="utf-8").splitlines()
    added, removed = sorted(set(current) - set(recorded)), sorted(set(recorded) - set(current))
    assert not added and not removed, (
        f"asset graph changed (added {added}, removed {removed}): if deliberate, record it with "
        "`python -m tests.asset_graph > tests/fixtures/asset_graph.txt`"
    )
    assert len(current) == len(set(current))
