"""Opening the warehouse file. Extensions come from their PyPI packages, never from the network."""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb


class ArrowStream:
    """Hands a polars frame to DuckDB through the Arrow C stream interface, so pyarrow is not needed."""

    def __init__(self, frame):
        self.frame = frame

    def __arrow_c_stream__(self, requested_schema=None):
        return self.frame.__arrow_c_stream__(requested_schema)


# Packages whose file is not named after the extension inside it: DuckDB derives the entry point it calls
# from the file name (`<name>_duckdb_cpp_init`), so such a file is loaded through a link bearing the right name.
_EXTENSION_NAMES = {"postgres": "postgres_scanner"}


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """LOAD an extension from the installed `duckdb-extension-<name>` package (no INSTALL, no download)."""
    import duckdb

    package = importlib.import_module(f"duckdb_extension_{name}")
    folder = Path(package.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    files = sorted(folder.glob(f"{name}.duckdb_extension"))
    if not files:
        raise FileNotFoundError(f"no {name}.duckdb_extension for duckdb {duckdb.__version__} under {folder}")
    path = files[0]
    if name in _EXTENSION_NAMES:
        path = _named_link(path, _EXTENSION_NAMES[name])
    con.execute(f"LOAD '{path.as_posix()}'")


def _named_link(path: Path, extension: str) -> Path:
    """A symbolic link `<extension>.duckdb_extension` to `path`, in a folder of this user's under the temporary
    directory (made atomically: concurrent workers may make it at once)."""
    import duckdb

    folder = Path(tempfile.gettempdir()) / f"msdb-duckdb-extensions-{os.getuid()}" / f"v{duckdb.__version__}"
    link = folder / f"{extension}.duckdb_extension"
    if link.is_symlink() and link.resolve() == path.resolve():
        return link
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{extension}.{os.getpid()}.link"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(path.resolve())
    os.replace(temporary, link)
    return link


@contextmanager
def writer(path: Path, publish: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """The one read-write connection of this process; schema created on first use. On close, the committed
    file is published for readers (`pipelines.warehouse.published`), unless the caller publishes right after
    anyway (publish=False) or publishing is deferred to the end of the stage or run (`deferred_publishing`,
    as `pipelines.nightly` does)."""
    import duckdb

    from pipelines.warehouse.functions import register_functions
    from pipelines.warehouse.published import publish_quietly
    from pipelines.warehouse.schema import ensure_schema

    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        # One transaction: one commit instead of one per statement (~60 of them; on a new warehouse file
        # they took 0.3-0.4 s autocommitted, ~0.04 s together).
        con.begin()
        ensure_schema(con)
        con.commit()
        register_functions(con)
        yield con
        con.execute("CHECKPOINT")
    finally:
        con.close()
        if publish:
            publish_quietly(path)


@contextmanager
def reader(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    import duckdb

    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `msdb run` first")
    from pipelines.warehouse.functions import register_functions

    con = duckdb.connect(str(path), read_only=True)
    register_functions(con)
    try:
        yield con
    finally:
        con.close()
