"""The quality gate: suites pass on clean samples, and a failure holds back exactly the feeds that depend on it."""

from __future__ import annotations

import json

import duckdb
import pytest
import yaml

from pipelines.check import run_check
from pipelines.export import run_export
from pipelines.nightly import report
from tests.conftest import SAMPLE_DATE

pytestmark = pytest.mark.slow


def execute(settings, sql: str, params=None):
    with duckdb.connect(str(settings.warehouse)) as con:
        return con.execute(sql, params or []).fetchall()


def deliveries(settings, summary=None) -> dict[str, tuple[str, str | None]]:
    """Each partner's main feed (works or ad matches): status and reason; a music partner's mood stations and
    MEAD follow its works feed (see the first test)."""
    summary = summary or run_export(settings, SAMPLE_DATE)
    return {d.partner_id: (d.status, d.reason) for d in summary.deliveries if d.feed in ("works", "ad_matches")}


def withheld(settings) -> list[tuple[str, str, str]]:
    return execute(
        settings,
        "SELECT partner_id, w.isrc, r.reason FROM exports.withheld_rows r JOIN marts.dim_work w USING (work_id) "
        "WHERE logical_date = ? ORDER BY ALL",
        [SAMPLE_DATE],
    )


def test_clean_samples_pass_every_suite_and_render_data_docs(gate_settings):
    summary = run_check(gate_settings, SAMPLE_DATE)
    assert summary.failed == [] and summary.blocked == []
    suites = {s for (s,) in execute(gate_settings, "SELECT DISTINCT suite FROM ops.quality_results WHERE logical_date = ?", [SAMPLE_DATE])}
    assert suites == {
        "dim_article", "dim_work", "dim_work_rows", "fct_licence_window", "fct_licence_window_rows", "fct_work_descriptor",
        "ingest_reconciliation_ads", "ingest_reconciliation_articles", "ingest_reconciliation_catalog", "work_reconciliation",
        "partner:cinema-now", "partner:kizuna-ads", "partner:melody-stream",
    }  # fmt: skip
    index = gate_settings.var_dir / "data_docs" / "index.html"
    assert summary.data_docs == str(index) and index.exists()
    assert (gate_settings.var_dir / "data_docs" / "validations" / "fct_licence_window").is_dir()
    assert "partner_melody-stream" in index.read_text(encoding="utf-8")


def test_the_gate_checks_the_rows_the_partner_will_receive(gate_settings):
    run_check(gate_settings, SAMPLE_DATE)
    observed = dict(
        execute(
            gate_settings,
            "SELECT suite, observed FROM ops.quality_results WHERE expectation = 'expect_column_values_to_be_unique' "
            "AND suite LIKE 'partner:%'",
        )
    )
    # the feeds export delivers: 8 recordings + the album, the movie + the episode
    assert observed == {
        "partner:melody-stream": "0 of 9 rows unexpected: []",
        "partner:cinema-now": "0 of 2 rows unexpected: []",
    }


def test_a_feed_missing_a_required_column_blocks_only_that_partner(gate_settings):
    contract = gate_settings.partners_dir / "melody-stream.yaml"
    spec = yaml.safe_load(contract.read_text())
    spec["required_fields"].append("isan")  # not a column of the works feed: a schema fault of the whole feed
    contract.write_text(yaml.safe_dump(spec))
    summary = run_check(gate_settings, SAMPLE_DATE)
    assert summary.blocked == ["partner:melody-stream"]
    assert sorted(summary.failed) == [
        "partner:melody-stream: expect_column_to_exist(isan) — column isan is missing",
        'partner:melody-stream: expect_column_values_to_not_be_null(isan) — error: Error: The column "isan" in BatchData does not exist.',
    ]
    exported = run_export(gate_settings, SAMPLE_DATE)
    assert deliveries(gate_settings, exported) == {
        "cinema-now": ("delivered", None),
        "kizuna-ads": ("delivered", None),
        "melody-stream": ("blocked", "quality gate failed: partner:melody-stream"),
    }
    # no mood station or MEAD entry for works the partner was not sent
    assert [(d.feed, d.status, d.reason) for d in exported.deliveries if d.partner_id == "melody-stream"][1:] == [
        ("mood_stations", "blocked", "the works feed of 2026-11-24 is blocked, not published"),
        ("mead", "blocked", "the works feed of 2026-11-24 is blocked, not published"),
    ]


def test_works_missing_a_required_title_are_withheld_and_the_rest_delivered(gate_settings):
    execute(gate_settings, "UPDATE marts.dim_work SET title_ja = NULL WHERE isrc IN ('JPSK02600002', 'JPSK02600003')")
    summary = run_check(gate_settings, SAMPLE_DATE)
    assert summary.blocked == []
    assert [f.split(" — ")[0] for f in summary.failed] == []
    delivered = [d for d in run_export(gate_settings, SAMPLE_DATE).deliveries if d.feed in ("works", "ad_matches")]
    assert [(d.partner_id, d.status, d.rows, d.withheld) for d in delivered] == [
        ("cinema-now", "delivered", 2, 0),
        ("kizuna-ads", "delivered", 0, 0),  # the ads stage has not run on this warehouse
        ("melody-stream", "delivered", 7, 2),
    ]
    assert withheld(gate_settings) == [
        ("melody-stream", "JPSK02600002", "required field title_ja is missing"),
        ("melody-stream", "JPSK02600003", "required field title_ja is missing"),
    ]
    feed = gate_settings.warehouse.parent.parent / "deliveries/melody-stream/works/2026-11-24/works.jsonl"
    isrcs = sorted(json.loads(line)["isrc"] or "" for line in feed.read_text("utf-8").splitlines())
    assert "JPSK02600002" not in isrcs and "JPSK02600001" in isrcs and len(isrcs) == 7


def test_a_window_in_an_unknown_territory_withholds_its_work_only(gate_settings):
    execute(
        gate_settings,
        "INSERT INTO marts.fct_licence_window SELECT l.* REPLACE ('bad-window' AS licence_window_id, 'XX' AS territory) "
        "FROM marts.fct_licence_window l JOIN marts.dim_work w USING (work_id) "
        "WHERE w.isrc = 'JPSK02600002' AND l.commercial_model = 'SubscriptionModel' AND l.use_type = 'Stream'",
    )
    summary = run_check(gate_settings, SAMPLE_DATE)
    assert summary.blocked == []
    assert [f.split(" — ")[0] for f in summary.failed] == ["fct_licence_window_rows: expect_column_values_to_be_in_set(territory)"]
    assert deliveries(gate_settings) == {
        "cinema-now": ("delivered", None), "kizuna-ads": ("delivered", None), "melody-stream": ("delivered", None),
    }  # fmt: skip
    assert withheld(gate_settings) == [
        (
            "melody-stream",
            "JPSK02600002",
            "licence window in unknown territory 'XX' (XX SubscriptionModel/Stream 2026-11-01..open-ended)",
        )
    ]
    assert report(gate_settings, SAMPLE_DATE).quality_failures == [
        "fct_licence_window_rows: expect_column_values_to_be_in_set(territory) — 1 of 50 rows unexpected: [\"XX\"]"
    ]


def test_a_window_ending_before_it_starts_withholds_the_works_it_licenses(gate_settings):
    execute(gate_settings, "UPDATE marts.fct_licence_window SET window_end = window_start - 1 WHERE source = 'adi'")
    summary = run_check(gate_settings, SAMPLE_DATE)
    assert summary.blocked == []
    assert any(f.startswith("fct_licence_window_rows: expect_column_pair_values_a_to_be_greater_than_b(window_end)") for f in summary.failed)
    assert deliveries(gate_settings) == {  # both of cinema-now's works withheld: 0 rows is held, not published
        "cinema-now": ("held", "would leave cinema-now 0 rows (it holds 0): held until approved"),
        "kizuna-ads": ("delivered", None), "melody-stream": ("delivered", None),
    }  # fmt: skip
    reasons = execute(
        gate_settings,
        "SELECT w.provider_asset_id, r.reason FROM exports.withheld_rows r JOIN marts.dim_work w USING (work_id) "
        "WHERE partner_id = 'cinema-now' ORDER BY ALL",
    )
    assert reasons == [
        ("AOZT0000000000000001", "licence window JP SubscriptionModel/Stream 2026-11-01..2026-10-31 ends before it starts"),
        ("AOZT0000000000000002", "licence window JP SubscriptionModel/Stream 2026-10-01..2026-09-30 ends before it starts"),
    ]


def test_an_article_failure_does_not_hold_back_works_feeds(gate_settings):
    execute(gate_settings, "INSERT INTO marts.dim_article (article_id) VALUES ('a_without_url')")  # url is required
    summary = run_check(gate_settings, SAMPLE_DATE)
    assert sorted(summary.blocked) == ["ad_matches", "articles"]
    assert deliveries(gate_settings) == {
        "cinema-now": ("delivered", None),
        "kizuna-ads": ("blocked", "quality gate failed: ad_matches"),  # ad matches are made of articles
        "melody-stream": ("delivered", None),
    }


def test_rows_lost_between_ingest_and_raw_fail_the_reconciliation(gate_settings):
    execute(gate_settings, "DELETE FROM raw.ddex_resources WHERE isrc = 'JPSK02600003'")
    summary = run_check(gate_settings, SAMPLE_DATE)
    assert summary.blocked == ["works"]
    assert [f.split(" — ")[0] for f in summary.failed] == [
        "ingest_reconciliation_catalog: expect_column_values_to_be_in_set(records_missing_in_raw)"
    ]
    assert execute(
        gate_settings,
        "SELECT observed FROM ops.quality_results WHERE suite = 'ingest_reconciliation_catalog' AND NOT success",
    ) == [("1 of 3 rows unexpected: [1]",)]
    assert deliveries(gate_settings) == {
        "cinema-now": ("blocked", "quality gate failed: works"),
        "kizuna-ads": ("delivered", None),
        "melody-stream": ("blocked", "quality gate failed: works"),
    }


def test_gx_validates_a_bounded_sample_and_the_verdicts_count_every_row(gate_settings, monkeypatch):
    from pipelines import check

    execute(
        gate_settings,  # 50 windows (a Worldwide deal is one), one in a territory that does not exist
        "INSERT INTO marts.fct_licence_window SELECT l.* REPLACE ('bad-window' AS licence_window_id, 'XX' AS territory) "
        "FROM marts.fct_licence_window l JOIN marts.dim_work w USING (work_id) "
        "WHERE w.isrc = 'JPSK02600002' AND l.commercial_model = 'SubscriptionModel' AND l.use_type = 'Stream'",
    )
    frames: dict[str, object] = {}
    validate = check._Validator.validate

    def recorded(self, spec, frame):
        frames[spec.name] = frame
        return validate(self, spec, frame)

    monkeypatch.setattr(check._Validator, "validate", recorded)
    settings = gate_settings.model_copy(update={"gate_sample_rows": 5})
    summary = run_check(settings, SAMPLE_DATE)
    assert max(len(f) for f in frames.values()) == 5  # pandas never holds more than the cap
    assert len(frames["fct_licence_window_rows"]) == 5 and "XX" in set(frames["fct_licence_window_rows"]["territory"])
    assert [f.split(" — ")[1] for f in summary.failed] == ['1 of 50 rows unexpected: ["XX"]']  # counted over all rows
    observed = dict(execute(settings, "SELECT suite, observed FROM ops.quality_results WHERE expectation = 'expect_column_values_to_be_unique'"))
    assert observed["fct_licence_window"] == "0 of 50 rows unexpected: []"
    assert observed["partner:melody-stream"] == "0 of 8 rows unexpected: []"  # the XX window's work is withheld
    # the same sample on every run of the same data
    first = {name: frame.to_json() for name, frame in frames.items()}
    run_check(settings, SAMPLE_DATE)
    assert {name: frame.to_json() for name, frame in frames.items()} == first


def test_a_following_night_checks_the_works_and_files_that_changed_since_the_last_clean_check(gate_settings, tmp_path):
    import shutil
    from datetime import timedelta

    from tests.build.conftest import ingest_and_build
    from tests.conftest import SAMPLES

    first = run_check(gate_settings, SAMPLE_DATE)  # no earlier check: every row
    assert first.changed_since is None
    assert {s: first.rows_checked[s] for s in ("dim_work", "fct_licence_window", "ingest_reconciliation_catalog", "work_reconciliation")} == {
        "dim_work": 13, "fct_licence_window": 49, "ingest_reconciliation_catalog": 3, "work_reconciliation": 10,
    }  # fmt: skip
    (first_checked_at,) = execute(gate_settings, "SELECT DISTINCT checked_at FROM ops.quality_results")[0]

    # night 2 delivers one new single (release 4589990100090 and its recording JPSK02600101, licensed in JP)
    landing = tmp_path / "landing"
    shutil.copytree(SAMPLES, landing)  # night 1's files: skipped as loaded
    target = landing / "music" / "sakura-records" / "2026-11-25" / "01_new_release.xml"
    target.parent.mkdir(parents=True)
    shutil.copyfile(SAMPLES.parents[1] / "tests" / "fixtures" / "history" / "01_new_release.xml", target)
    night_2 = gate_settings.model_copy(update={"landing": landing})
    day_2 = SAMPLE_DATE + timedelta(days=1)
    ingest_and_build(night_2, day_2)
    second = run_check(night_2, day_2)
    assert second.failed == [] and second.changed_since == first_checked_at
    new_works = execute(night_2, "SELECT count(*) FROM marts.dim_work WHERE icpn = '4589990100090' OR isrc = 'JPSK02600101'")
    new_windows = execute(
        night_2,
        "SELECT count(*) FROM marts.fct_licence_window JOIN marts.dim_work USING (work_id) "
        "WHERE icpn = '4589990100090' OR dim_work.isrc = 'JPSK02600101'",
    )
    assert new_works == [(2,)] and new_windows[0][0] > 0
    # the table suites read the two new works' rows, the reconciliations the one new file, partners their whole feed
    assert {s: second.rows_checked[s] for s in ("dim_work", "dim_work_rows", "fct_licence_window", "fct_licence_window_rows")} == {
        "dim_work": 2, "dim_work_rows": 2, "fct_licence_window": new_windows[0][0], "fct_licence_window_rows": new_windows[0][0],
    }  # fmt: skip
    assert (second.rows_checked["ingest_reconciliation_catalog"], second.rows_checked["work_reconciliation"]) == (1, 1)
    assert second.rows_checked["partner:melody-stream"] == 11  # 9 + the single and its recording, licensed in JP
    assert execute(
        night_2,
        "SELECT observed FROM ops.quality_results WHERE logical_date = ? AND suite = 'dim_work' "
        "AND expectation = 'expect_column_values_to_be_unique'",
        [day_2],
    ) == [("0 of 2 rows unexpected: []",)]

    # a night whose check blocked a feed is not a clean check: the next night checks its changes again
    execute(night_2, "DELETE FROM raw.ddex_resources WHERE isrc = 'JPSK02600101'")
    assert run_check(night_2, day_2).blocked == ["works"]
    third = run_check(night_2, day_2 + timedelta(days=1))
    assert third.changed_since == first_checked_at and third.rows_checked["dim_work"] == 2
    assert third.blocked == ["works"]  # the loss is still seen
    # --full-refresh checks every row
    assert run_check(night_2, day_2 + timedelta(days=1), full_refresh=True).rows_checked["dim_work"] == 15
