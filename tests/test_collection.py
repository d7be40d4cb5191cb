"""Every test file under tests/ is collected: a folder pytest skips silently (build/, dist/ ...) fails here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_every_test_file_is_collected():
    on_disk = {
        path.relative_to(TESTS.parent).as_posix()
        for path in TESTS.rglob("test_*.py")
        if "fixtures" not in path.relative_to(TESTS).parts
    }
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=TESTS.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    files = {line.split("::", 1)[0] for line in collected.stdout.splitlines() if "::" in line}
    assert "tests/build/test_dbt_build.py" in files
    assert on_disk - files == set(), f"test files pytest does not collect: {sorted(on_disk - files)}"
