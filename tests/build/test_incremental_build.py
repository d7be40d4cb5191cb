"""An incremental night builds exactly what a full rebuild over the same raw data builds.

Day 1 lands the samples, four Kirigami Sound albums and a single of one album's track; day 2 lands a new album,
an update of an existing album (a later message: the Japan deal dropped, the Worldwide window now ending), a
takedown in Japan (of the album, not the single) and a purge.
One warehouse builds day 1, then day 2 incrementally; a copy of it taken after day 2's ingest (the same raw
rows) builds day 2 with `--full-refresh`. Every mart table (and the incremental intermediate) must hold the same
rows.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from zoneinfo import ZoneInfo

import duckdb
import pytest

from tests.build import ern38
from tests.build.ern38 import Deal, Recording, Release
from tests.conftest import SAMPLES, arrived, make_settings

pytestmark = pytest.mark.slow

DAY_1, DAY_2 = date(2026, 11, 24), date(2026, 11, 25)
HOLDER = "kirigami"

# tables whose rows depend on how many builds ran, not only on raw data: system-time history (snapshots)
BUILD_HISTORY = {"fct_work_change"}
INCREMENTAL = ["marts.fct_licence_window", "intermediate.int_licence_windows_merged"]


def _album(number: int, title: str, tracks: int) -> tuple[list[Recording], Release]:
    recordings = [
        Recording(f"A{t}", f"JPKG026{number:02d}{t:03d}", f"{title} {t}") for t in range(1, tracks + 1)
    ]
    release = Release(
        "R0",
        title,
        [r.reference for r in recordings],
        icpn=ern38.icpn(f"4589990800{number:02d}"),
        is_main=True,
    )
    return recordings, release


ASAGIRI, YUGURE, HOSHIZORA, KAZE, TSUKIYO = (
    _album(1, "Asagiri", 2),
    _album(2, "Yugure", 2),
    _album(3, "Hoshizora", 1),
    _album(4, "Kaze", 1),
    _album(5, "Tsukiyo", 2),
)

# a single of Yugure's second track: its own message licenses the recording in Japan
YUGURE_SINGLE = (
    [YUGURE[0][1]],
    Release(
        "R0",
        "Yugure 2",
        [YUGURE[0][1].reference],
        icpn=ern38.icpn("458999080099"),
        release_type="Single",
        is_main=True,
    ),
)


def _message(message_id: str, created: str, album, deals: list[Deal], root: str = "NewReleaseMessage") -> str:
    recordings, release = album
    return ern38.message(message_id, created, recordings, [release], deals, root=root)


def _takedown(xml: str) -> str:
    """The message with its (only) deal turned into a takedown."""
    return xml.replace("<DealTerms>", "<DealTerms><TakeDown>true</TakeDown>", 1)


def _purge(message_id: str, created: str, icpn: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ern:PurgeReleaseMessage xmlns:ern="http://ddex.net/xml/ern/43" ReleaseProfileVersionId="Audio" AvsVersionId="4">
<MessageHeader><MessageThreadId>{message_id}</MessageThreadId><MessageId>{message_id}</MessageId>
<MessageSender><PartyId>PADPIDA2026120101K</PartyId><PartyName><FullName>Kirigami Sound</FullName></PartyName></MessageSender>
<MessageCreatedDateTime>{created}</MessageCreatedDateTime></MessageHeader>
<PurgedRelease><ReleaseId><ICPN>{icpn}</ICPN></ReleaseId><DisplayTitleText>Hoshizora</DisplayTitleText></PurgedRelease>
</ern:PurgeReleaseMessage>
"""


DAY_1_FILES = {
    "KG_ASAGIRI_1.xml": _message(
        "KG-1",
        "2026-11-20T10:00:00+09:00",
        ASAGIRI,
        [
            Deal("R0", ["Worldwide"]),
            Deal("R0", ["JP"], models=["PayAsYouGoModel"], uses=["PermanentDownload"], end="2027-06-30"),
        ],
    ),
    "KG_YUGURE_1.xml": _message("KG-2", "2026-11-20T11:00:00+09:00", YUGURE, [Deal("R0", ["JP", "KR"])]),
    "KG_HOSHIZORA_1.xml": _message("KG-3", "2026-11-20T12:00:00+09:00", HOSHIZORA, [Deal("R0", ["JP"])]),
    "KG_KAZE_1.xml": _message("KG-4", "2026-11-20T13:00:00+09:00", KAZE, [Deal("R0", ["Worldwide"])]),
    "KG_YUGURE_SINGLE_1.xml": _message(
        "KG-9", "2026-11-20T11:30:00+09:00", YUGURE_SINGLE, [Deal("R0", ["JP"])]
    ),
}
DAY_2_FILES = {
    # a new album
    "KG_TSUKIYO_1.xml": _message("KG-5", "2026-11-24T10:00:00+09:00", TSUKIYO, [Deal("R0", ["Worldwide"])]),
    # an update of Asagiri: the Japan download deal is gone, the Worldwide window now ends
    "KG_ASAGIRI_2.xml": _message(
        "KG-6",
        "2026-11-24T11:00:00+09:00",
        ASAGIRI,
        [Deal("R0", ["Worldwide"], end="2027-03-31")],
        root="UpdateReleaseMessage",
    ),
    # Yugure taken down in Japan (the album's deals only: the single still licenses its track there)
    "KG_YUGURE_2.xml": _takedown(
        _message(
            "KG-7", "2026-11-24T12:00:00+09:00", YUGURE, [Deal("R0", ["JP"])], root="UpdateReleaseMessage"
        )
    ),
    # Hoshizora purged
    "KG_HOSHIZORA_PURGE.xml": _purge("KG-8", "2026-11-24T13:00:00+09:00", HOSHIZORA[1].icpn),
}


def _landing(root, days: list[dict[str, str]], day: date):
    """The files arrive on `day` (Tokyo noon): the run of that day loads them."""
    landing = root / "landing"
    if not landing.exists():
        shutil.copytree(SAMPLES, landing)
        registry = landing / "registry.yaml"
        registry.write_text(
            registry.read_text(encoding="utf-8")
            + f"  - id: {HOLDER}\n    name: Kirigami Sound\n    kind: music\n",
            encoding="utf-8",
        )
    folder = landing / "music" / HOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for files in days:
        for name, xml in files.items():
            (folder / name).write_text(xml, encoding="utf-8")
            arrived(folder / name, datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo("Asia/Tokyo")).timestamp())
    return landing


@pytest.fixture(scope="module")
def two_warehouses(tmp_path_factory):
    from pipelines.build import run_build
    from pipelines.ingest import run_ingest

    incremental_root = tmp_path_factory.mktemp("incremental")
    incremental = make_settings(incremental_root, _landing(incremental_root, [DAY_1_FILES], DAY_1))
    run_ingest(incremental, DAY_1)
    run_build(incremental, DAY_1)
    _landing(incremental_root, [DAY_2_FILES], DAY_2)
    run_ingest(incremental, DAY_2)

    # the same raw rows (ingest records wall-clock times, so a second ingest would differ): a copy of the
    # warehouse as day 2's ingest left it, rebuilt with --full-refresh
    full_root = tmp_path_factory.mktemp("full")
    full = make_settings(full_root, incremental.landing)
    full.warehouse.parent.mkdir(parents=True)
    shutil.copyfile(incremental.warehouse, full.warehouse)

    run_build(incremental, DAY_2)
    run_build(full, DAY_2, full_refresh=True)
    return incremental, full


def _tables(con, catalog: str) -> list[str]:
    rows = con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'marts'",
        [catalog],
    ).fetchall()
    return sorted(name for (name,) in rows if name.split(".")[1] not in BUILD_HISTORY)


def test_incremental_night_equals_a_full_rebuild(two_warehouses):
    incremental, full = two_warehouses
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{incremental.warehouse}' AS inc (READ_ONLY)")
        con.execute(f"ATTACH '{full.warehouse}' AS ful (READ_ONLY)")
        tables = _tables(con, "inc")
        assert tables == _tables(con, "ful")
        assert {"marts.dim_work", "marts.fct_licence_window", "marts.dim_work_history"} <= set(tables)
        for table in [*tables, *INCREMENTAL[1:]]:
            counts = con.execute(
                f"SELECT (SELECT count(*) FROM inc.{table}), (SELECT count(*) FROM ful.{table})"
            ).fetchone()
            only_incremental = con.execute(
                f"SELECT * FROM (SELECT * FROM inc.{table} EXCEPT ALL SELECT * FROM ful.{table}) ORDER BY ALL LIMIT 5"
            ).fetchall()
            only_full = con.execute(
                f"SELECT * FROM (SELECT * FROM ful.{table} EXCEPT ALL SELECT * FROM inc.{table}) ORDER BY ALL LIMIT 5"
            ).fetchall()
            assert counts[0] == counts[1] and only_incremental == [] and only_full == [], (
                table,
                counts,
                only_incremental,
                only_full,
            )


def _windows(settings, album) -> list[tuple]:
    isrc = album[0][0].isrc
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(
            """
            SELECT w.territory, w.commercial_model, w.use_type, w.window_start, w.window_end, w.status
            FROM marts.fct_licence_window_by_territory AS w JOIN marts.dim_work AS d USING (work_id)
            WHERE d.isrc = ? AND w.territory IN ('JP', 'KR', 'FR') ORDER BY ALL
            """,
            [isrc],
        ).fetchall()


def test_day_two_changes_reach_the_incremental_windows(two_warehouses):
    incremental, _ = two_warehouses
    ends = date(2027, 3, 31)
    # the update: the Japan download deal is gone, the Worldwide stream window ends
    assert _windows(incremental, ASAGIRI) == [
        (country, "SubscriptionModel", "OnDemandStream", date(2026, 12, 1), ends, "active")
        for country in ("FR", "JP", "KR")
    ]
    # Yugure's update holds only a Japan takedown: its Korea deal is no longer in force, Japan is withdrawn
    assert [(row[0], row[-1]) for row in _windows(incremental, YUGURE)] == [("JP", "withdrawn")]
    # the album's takedown withdraws the album's deals, not the single's: Yugure 2 is still licensed in Japan
    assert [(row[0], row[-1]) for row in _windows(incremental, YUGURE_SINGLE)] == [("JP", "active")]
    assert {status for *_, status in _windows(incremental, HOSHIZORA)} == {"withdrawn"}  # purged
    assert {status for *_, status in _windows(incremental, KAZE)} == {"active"}  # untouched
    assert {status for *_, status in _windows(incremental, TSUKIYO)} == {"active"}  # new


def test_day_two_took_the_incremental_path(two_warehouses):
    """The comparison above is worth something only if day 2 ran the incremental branch of both models."""
    incremental, full = two_warehouses

    def compiled(settings, path: str) -> str:
        return (settings.var_dir / "dbt" / "target" / "compiled" / "msdb" / "models" / path).read_text(
            encoding="utf-8"
        )

    for path in ("intermediate/int_licence_windows_merged.sql", "marts/fct_licence_window.sql"):
        assert "anti join (select distinct work_id, terms_fingerprint from" in compiled(incremental, path)
        assert "anti join (select distinct work_id, terms_fingerprint from" not in compiled(full, path)


def test_the_incremental_change_history_equals_its_full_rebuild(two_warehouses, tmp_path):
    """fct_work_change is incremental by change cursor (the works with a version opened or closed since its latest
    changed_at): after day 2 it holds what a full rebuild over the same snapshots holds."""
    from pipelines.build import run_dbt

    incremental, _ = two_warehouses
    rebuilt = incremental.model_copy(update={"warehouse": tmp_path / "rebuilt.duckdb", "var_dir": tmp_path / "var"})
    shutil.copyfile(incremental.warehouse, rebuilt.warehouse)
    assert "where work_id in (select work_id from changed_works)" in (
        incremental.var_dir / "dbt" / "target" / "compiled" / "msdb" / "models" / "marts" / "fct_work_change.sql"
    ).read_text(encoding="utf-8")
    result = run_dbt(rebuilt, "run", "--quiet", "--select", "fct_work_change", "--full-refresh")
    assert result.success, result.exception
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{incremental.warehouse}' AS inc (READ_ONLY)")
        con.execute(f"ATTACH '{rebuilt.warehouse}' AS ful (READ_ONLY)")
        table = "marts.fct_work_change"
        assert con.execute(f"SELECT * FROM inc.{table} EXCEPT ALL SELECT * FROM ful.{table}").fetchall() == []
        assert con.execute(f"SELECT * FROM ful.{table} EXCEPT ALL SELECT * FROM inc.{table}").fetchall() == []
        # day 2 changed works: the new album's works have one change, the updated ones two, untouched ones one
        sequences = dict(
            con.execute(
                f"SELECT w.isrc, max(c.change_sequence) FROM inc.{table} c JOIN inc.marts.dim_work w USING (work_id) "
                "WHERE w.isrc IN (?, ?, ?) GROUP BY ALL",
                [TSUKIYO[0][0].isrc, ASAGIRI[0][0].isrc, KAZE[0][0].isrc],
            ).fetchall()
        )
    assert sequences == {TSUKIYO[0][0].isrc: 1, ASAGIRI[0][0].isrc: 2, KAZE[0][0].isrc: 1}


def test_unit_tests_run_once_per_project_not_every_night(two_warehouses, tmp_path):
    """Day 1 ran dbt's unit tests and noted the project they passed for; day 2's incremental build of the same
    project skipped them; the full refresh ran them. A changed model file makes a different project."""
    from pipelines.build import UNIT_TESTS_PASSED, project_fingerprint

    incremental, full = two_warehouses

    def unit_tests(settings) -> int:
        results = json.loads((settings.var_dir / "dbt" / "target" / "run_results.json").read_text(encoding="utf-8"))
        return sum(r["unique_id"].startswith("unit_test.msdb.") and r["status"] == "pass" for r in results["results"])

    assert unit_tests(incremental) == 0
    assert unit_tests(full) >= 10
    project = project_fingerprint(incremental.dbt_project_dir)
    assert (incremental.var_dir / "dbt" / UNIT_TESTS_PASSED).read_text(encoding="utf-8") == project + "\n"
    copy = shutil.copytree(incremental.dbt_project_dir, tmp_path / "dbt_project", ignore=shutil.ignore_patterns("target", "logs"))
    assert project_fingerprint(copy) == project
    (copy / "README.md").write_text("a note on the models\n", encoding="utf-8")
    assert project_fingerprint(copy) == project  # documentation is not what the unit tests test
    model = copy / "models" / "marts" / "dim_work.sql"
    model.write_text(model.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert project_fingerprint(copy) != project
