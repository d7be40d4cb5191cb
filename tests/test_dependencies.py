"""Every third-party module the code imports is a declared dependency of pyproject.toml, pinned in
constraints.txt at the version installed here: an undeclared import works until the day a transitive
dependency drops it."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("pipelines", "dags", "tests", "benchmarks")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_modules() -> dict[str, str]:
    """{top-level module: first file importing it}, for absolute imports only."""
    found: dict[str, str] = {}
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".", 1)[0], path.relative_to(ROOT).as_posix())
    return found


def _local_modules() -> set[str]:
    """The project's own packages, and modules that sit next to each other (benchmarks import measure)."""
    local = set(SCANNED)
    for folder in SCANNED:
        local |= {path.stem for path in (ROOT / folder).rglob("*.py")}
    return local


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    return {_canonical(re.split(r"[\s<>=!~\[;]", requirement, maxsplit=1)[0]) for requirement in requirements}


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.split("==", 1)
            pins[_canonical(name.strip())] = version.strip()
    return pins


def _with_meta_packages(declared: set[str], distributions: dict[str, list[str]]) -> set[str]:
    """A declared meta-package (apache-airflow ships no module; apache-airflow-core ships `airflow`) declares
    the distributions it requires."""
    providing = {_canonical(name) for names in distributions.values() for name in names}
    widened = set(declared)
    for name in declared - providing:
        try:
            requirements = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:  # an extra installed elsewhere (the image's `production`)
            continue
        for requirement in requirements:
            if "extra ==" not in requirement:
                widened.add(_canonical(re.split(r"[\s<>=!~\[;(]", requirement, maxsplit=1)[0]))
    return widened


def test_every_imported_distribution_is_declared_and_pinned():
    distributions = importlib.metadata.packages_distributions()
    stdlib, local = sys.stdlib_module_names, _local_modules()
    declared, pins = _with_meta_packages(_declared(), distributions), _pins()
    undeclared, unpinned = [], []
    for module, where in sorted(_imported_modules().items()):
        if module in stdlib or module in local or module == "__future__":
            continue
        owners = {_canonical(name) for name in distributions.get(module, [])}
        assert owners, f"{where} imports {module!r}, which no installed distribution provides"
        if not owners & declared:
            undeclared.append(f"{module} ({'/'.join(sorted(owners))}, imported by {where})")
        for owner in owners & declared:
            # PEP 440: `==2.13.0` is satisfied by the local build 2.13.0+cpu
            installed = importlib.metadata.version(owner).split("+", 1)[0]
            if pins.get(owner) != installed:
                unpinned.append(f"{owner}=={installed} (constraints.txt: {pins.get(owner)})")
    assert undeclared == [], f"imported but not declared in pyproject.toml: {undeclared}"
    assert unpinned == [], f"declared but not pinned at the installed version: {unpinned}"


def test_every_declared_distribution_is_pinned():
    pins = _pins()
    missing = sorted(name for name in _declared() if name not in pins)
    assert missing == [], f"declared in pyproject.toml but not pinned in constraints.txt: {missing}"
