"""Guards on the shape of the code that issue 9 asked for: no failure is swallowed silently."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BROAD = {"Exception", "BaseException"}


def _swallowed(path: Path) -> list[str]:
    """`except Exception: pass` (or a bare `except:` whose body is only pass/...) in one file, as path:line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if not isinstance(node, ast.ExceptHandler):
            continue
        broad = node.type is None or (isinstance(node.type, ast.Name) and node.type.id in BROAD)
        silent = all(
            isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant))
            for stmt in node.body
        )
        if broad and silent:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


@pytest.mark.parametrize("folder", ["pipelines", "dags", "benchmarks"])
def test_no_broad_exception_is_swallowed(folder):
    swallowed = [hit for path in sorted((ROOT / folder).rglob("*.py")) for hit in _swallowed(path)]
    assert swallowed == [], f"say what failed instead of `except Exception: pass`: {swallowed}"


def test_the_guard_sees_a_swallowed_exception(tmp_path):
    sample = ROOT / "tests" / "_swallow_sample.py"
    sample.write_text("try:\n    x = 1\nexcept Exception:\n    pass\n", encoding="utf-8")
    try:
        assert _swallowed(sample) == ["tests/_swallow_sample.py:3"]
    finally:
        sample.unlink()
