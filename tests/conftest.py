"""Shared fixtures: a throwaway landing/warehouse per test, and the real third-party data in ../shared/data."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from pipelines.settings import MsdbSettings

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"
SHARED_DATA = Path(os.environ.get("MSDB_SHARED_DATA", REPO.parent / "shared" / "data"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The IAB Content Taxonomy is third-party data we do not ship: the tests read it with the rest of ../shared/data
IAB_TAXONOMY = Path(os.environ.setdefault("MSDB_IAB_TAXONOMY", str(SHARED_DATA / "iab" / "Content_Taxonomy_3.1.tsv")))
# what needs it: the samples land ad creatives (ingest checks them against it), and the ads stage classifies into it
NEEDS_IAB_FIXTURES = {"sample_run", "sample_settings", "copy_run"}
NEEDS_IAB_TESTS = ("tests/ads/", "tests/ingest/test_ad_creatives.py", "tests/ingest/test_hostile_corpus_ads.py")


def pytest_collection_modifyitems(config, items):
    if IAB_TAXONOMY.is_file():
        return
    skip = pytest.mark.skip(reason=f"IAB Content Taxonomy not found at {IAB_TAXONOMY} (real data: set MSDB_IAB_TAXONOMY)")
    for item in items:
        if NEEDS_IAB_FIXTURES & set(getattr(item, "fixturenames", ())) or item.nodeid.startswith(NEEDS_IAB_TESTS):
            item.add_marker(pytest.mark.real_data)
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public files (DDEX, ADI, feeds, livedoor...). CI always has them; elsewhere the test skips."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (set MSDB_SHARED_DATA or lay ../shared beside the repo)")
    return SHARED_DATA


def make_settings(tmp_path: Path, landing: Path, **overrides) -> MsdbSettings:
    values = {
        "landing": landing,
        "warehouse": tmp_path / "warehouse" / "msdb.duckdb",
        "deliver": str(tmp_path / "deliveries"),
        "var_dir": tmp_path / "var",
    }
    return MsdbSettings(**(values | overrides))


# When the files a test drops in a landing arrived: the samples' night (2026-11-24, Asia/Tokyo). A file without a
# date folder belongs to the night of its arrival (`pipelines.ingest.landing.partition_date`), and tests run
# nights of late November whatever the day they run on.
ARRIVED_AT = datetime(2026, 11, 24, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo")).timestamp()


def arrived(path: Path, at: float = ARRIVED_AT) -> Path:
    """The file as if it had landed at `at` (its modification time), its link too when it is one."""
    os.utime(path, (at, at), follow_symlinks=False)
    return path


class Landing:
    """Builds a landing folder in tmp: declare holders, drop files (copies or links), write a registry. Each file
    arrives on the samples' night (`ARRIVED_AT`) unless it lies in a date folder."""

    def __init__(self, root: Path):
        self.root = root
        self.holders: list[dict] = []
        root.mkdir(parents=True, exist_ok=True)

    def holder(self, holder_id: str, kind: str, **extra) -> Landing:
        self.holders.append({"id": holder_id, "name": extra.pop("name", holder_id), "kind": kind, **extra})
        self._write_registry()
        return self

    def add(self, kind: str, holder_id: str, source: Path, name: str | None = None, link: bool = False) -> Path:
        """A copy of source in the landing (ingest refuses links that lead outside it); link=True: a link,
        for tests about links."""
        target = self.root / kind / holder_id / (name or source.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if link:
            target.symlink_to(source.resolve())
        else:
            shutil.copyfile(source, target)
        return arrived(target)

    def write(self, kind: str, holder_id: str, name: str, content: bytes | str) -> Path:
        target = self.root / kind / holder_id / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return arrived(target)

    def _write_registry(self) -> None:
        (self.root / "registry.yaml").write_text(yaml.safe_dump({"holders": self.holders}, allow_unicode=True))


@pytest.fixture
def landing(tmp_path: Path) -> Landing:
    return Landing(tmp_path / "landing")


@pytest.fixture
def sample_settings(tmp_path: Path) -> MsdbSettings:
    """Settings on the repo's own sample deliveries, writing only under tmp_path."""
    return make_settings(tmp_path, SAMPLES)


SAMPLE_DATE = __import__("datetime").date(2026, 11, 24)


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> MsdbSettings:
    """The whole nightly pipeline run once on data/samples (2026-11-24); tests read its warehouse and feeds.

    Tests that write must work on a copy (`copy_run`), so that the order tests run in does not matter.
    """
    from pipelines.nightly import run_nightly

    settings = make_settings(tmp_path_factory.mktemp("sample_run"), SAMPLES)
    run_nightly(settings, SAMPLE_DATE)
    return settings


@pytest.fixture
def copy_run(sample_run: MsdbSettings, tmp_path: Path) -> MsdbSettings:
    """A private copy of the sample run's warehouse, with its own delivery folder."""
    settings = make_settings(tmp_path, SAMPLES)
    settings.warehouse.parent.mkdir(parents=True)
    shutil.copyfile(sample_run.warehouse, settings.warehouse)
    return settings


@pytest.fixture(scope="session")
def moto_s3():
    """A real S3 endpoint on 127.0.0.1 (moto's threaded server), with throwaway credentials."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    previous = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="ap-northeast-1")
    yield f"http://{host}:{port}"
    server.stop()
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def real_catalog_run(shared_data, tmp_path_factory) -> MsdbSettings:
    """The whole nightly run once on every real DDEX (ERN 3.7, 3.8.2, 4.3, MEAD) and ADI delivery."""
    from pipelines.nightly import run_nightly

    root = tmp_path_factory.mktemp("real-catalog")
    landing = Landing(root / "landing")
    landing.holder("umg", "music", name="Universal Music Group").holder("fuga", "music").holder("ddex-profiles", "music")
    landing.holder("lifetime", "video", name="Lifetime Movie Club", licence_territories=["US"])
    for path in sorted((shared_data / "ddex").rglob("*.xml")):
        holder = "fuga" if "FUGA" in path.name else "ddex-profiles" if "Profile" in path.name else "umg"
        landing.add("music", holder, path)
    landing.add("video", "lifetime", shared_data / "adi" / "adi11_tvshow.xml")
    settings = make_settings(root, landing.root, partners=SAMPLES / "partners")  # a run needs its contracts
    run_nightly(settings, SAMPLE_DATE)
    return settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/<version>/bin."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else None


def _as_postgres_user(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: as root, run them as the `postgres` user."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@dataclass(frozen=True)
class PostgresServer:
    """A private PostgreSQL cluster: superuser `postgres`, trust auth, on 127.0.0.1."""

    bin_dir: Path
    port: int
    host: str = "127.0.0.1"
    user: str = "postgres"

    def create_database(self, name: str) -> str:
        subprocess.run([str(self.bin_dir / "createdb"), "-h", self.host, "-p", str(self.port), "-U", self.user, name],
                       check=True, capture_output=True)  # fmt: skip
        return name

    def sqlalchemy_url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def libpq(self, database: str) -> str:
        return f"dbname={database} host={self.host} port={self.port} user={self.user}"


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    """A private PostgreSQL cluster (initdb, pg_ctl) on a free port in a temporary folder, stopped at the end of
    the session; each test makes its own database in it. Skips, saying why, without the binaries (`.ci/run`
    installs PostgreSQL with apt when missing)."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql (.ci/run does)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: PostgreSQL will not start as root")
    root = Path(tempfile.mkdtemp(prefix="msdb-pg-"))
    data, port = root / "data", free_port()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    subprocess.run(
        _as_postgres_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run(
        _as_postgres_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "server.log"),
                           "-w", "start"]),
        check=True,
        capture_output=True,
    )  # fmt: skip
    try:
        yield PostgresServer(bin_dir, port)
    finally:
        subprocess.run(_as_postgres_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
                       capture_output=True)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)
