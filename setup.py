"""Build hook: a wheel ships the project folders the package reads at run time.

`dbt_project/`, `models/` and `expectations/` live beside the package in the repository; a wheel installed
anywhere else would have none of them. `build_py` copies them into `pipelines/_project/`, the default of the
MSDB_DBT_PROJECT_DIR, MSDB_MODELS_DIR and MSDB_EXPECTATIONS_DIR settings when no checkout is around
(`pipelines.settings.shipped_folder`). Everything else is declared in pyproject.toml.
"""

from pathlib import Path
from shutil import copytree, ignore_patterns

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("dbt_project", "models", "expectations")
NOT_SHIPPED = ignore_patterns("target", "logs", "dbt_packages", "__pycache__", "*.pyc", ".user.yml")


class BuildPyWithProjectFolders(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads the checkout itself
            return
        root = Path(__file__).resolve().parent
        for name in SHIPPED:
            copytree(root / name, Path(self.build_lib) / "pipelines" / "_project" / name, ignore=NOT_SHIPPED, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithProjectFolders})
