"""The run report (`pipelines/report`) of the sample run: its figures, its charts, and what a browser shows."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_DATE

CHROMIUM = shutil.which("chromium")
SAMPLE_CHARTS = {
    "records-per-holder", "quality-results", "tag-distribution", "neighbour-scores", "ad-matches", "feed-deltas",
    "stage-timings",
}  # fmt: skip


@pytest.fixture(scope="module")
def sample_report(sample_run, tmp_path_factory) -> Path:
    """The report of the session's sample run, written under a var folder of its own (the run is only read)."""
    from pipelines.report import write_run_report

    settings = sample_run.model_copy(update={"var_dir": tmp_path_factory.mktemp("report-var")})
    path = write_run_report(settings, SAMPLE_DATE)
    assert path == settings.var_dir / "reports" / "2026-11-24.html"
    return path


def _figure(html: str, label: str) -> str:
    match = re.search(rf'data-figure="{re.escape(label)}"><b>([^<]*)</b>', html)
    assert match, label
    return match.group(1)


def _charts(html: str) -> list[str]:
    assert html.count("<svg") == len(re.findall(r'<svg class="chart" data-chart="', html))
    return re.findall(r'<svg class="chart" data-chart="([^"]+)"', html)


def test_the_report_holds_the_runs_figures_and_a_chart_per_section(sample_report):
    html = sample_report.read_text(encoding="utf-8")
    assert sorted(_charts(html)) == sorted(SAMPLE_CHARTS)
    assert _figure(html, "files loaded") == "10"
    assert _figure(html, "records loaded") == "68"  # 34 ad creatives, 13 articles, 19 DDEX records, 2 ADI titles
    assert _figure(html, "records quarantined") == "0"
    assert _figure(html, "quality checks failed").startswith("0 of ")
    assert _figure(html, "feeds delivered") == "5" and _figure(html, "feeds not published") == "0"
    # records per holder and kind
    assert '<td>music</td><td>sakura-records</td><td class="n">1</td><td class="n">1</td>' in html
    # feed deltas: melody-stream's first delivery is a full file of 9 adds, the ad platform's one of 65 adds; the
    # MEAD feed (XML) carries no op
    assert re.search(
        r"<td>melody-stream</td><td>works</td><td>delivered</td><td>full</td><td class=\"n\">1</td>"
        r"<td class=\"n\">9</td><td class=\"n\">9</td><td class=\"n\">0</td><td class=\"n\">0</td>",
        html,
    )
    assert (
        '<td>kizuna-ads</td><td>ad_matches</td><td>delivered</td><td>full</td><td class="n">1</td><td class="n">65</td>'
        '<td class="n">65</td><td class="n">0</td><td class="n">0</td>'
    ) in html
    assert '<td>melody-stream</td><td>mead</td><td>delivered</td><td>full</td><td></td><td class="n">9</td><td></td>' in html
    # tags, with their Japanese labels; the first tag run has nothing to drift from
    assert "<td>work</td><td>scene.rain</td><td>Rain</td><td>雨</td>" in html
    assert "The first tag run of this warehouse: no earlier run to compare with." in html
    assert "Nothing was quarantined." in html
    # every stage of the run, in order, with its time
    assert re.findall(r"<tr><td>(\w+)</td><td>success</td>", html)[-7:] == [
        "ingest", "build", "tag", "similar", "ads", "check", "export",
    ]  # fmt: skip
    # one self-contained file: no script, nothing fetched
    assert "<script" not in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|//)|url\(\s*["']?(?:https?:|//)|@import""", html)


def test_quarantine_reasons_and_tag_drift_get_their_charts(copy_run, tmp_path):
    """A night with refused records and a second tag run: the two sections the sample run leaves empty."""
    from pipelines.report import write_run_report
    from pipelines.warehouse import publish, writer

    with writer(copy_run.warehouse) as con:
        con.execute(
            """
            INSERT INTO ops.quarantine VALUES
                ('f1', 'music/sakura-records/broken.xml', 'file', 'ingest', 'XML breaks off at line 3', '2026-11-24', now()),
                ('f2', 'music/sakura-records/broken2.xml', 'file', 'ingest', 'XML breaks off at line 3', '2026-11-24', now()),
                ('f3', 'music/unknown-label/release.xml', 'file', 'ingest', 'holder ''unknown-label'' is not declared',
                 '2026-11-24', now()),
                ('f4', 'music/sakura-records/old.xml', 'file', 'ingest', 'another night', '2026-11-23', now())
            """
        )
        con.execute(
            """
            INSERT INTO kansei.tag_drift
            SELECT 'second-run', run_started_at + INTERVAL 1 HOUR, logical_date, kind, tag_id, items,
                   share - CASE WHEN kind = 'work' AND tag_id = 'scene.night' THEN 0.1 ELSE 0 END,
                   run_id, share, -CASE WHEN kind = 'work' AND tag_id = 'scene.night' THEN 0.1 ELSE 0 END,
                   model_version, model_version
            FROM kansei.tag_drift WHERE logical_date = '2026-11-24'
            """
        )
    publish(copy_run.warehouse)
    html = write_run_report(copy_run, SAMPLE_DATE).read_text(encoding="utf-8")
    assert sorted(_charts(html)) == sorted(SAMPLE_CHARTS | {"quarantine-reasons", "tag-drift"})
    assert _figure(html, "files loaded") == "10"
    assert (
        '<tr><td>XML breaks off at line 3</td><td>ingest</td><td class="n">2</td><td class="n">2</td>'
        "<td>music/sakura-records/broken.xml</td></tr>"
    ) in html
    assert "holder &#x27;unknown-label&#x27; is not declared" in html and "another night" not in html
    assert "<tr><td>work</td><td>scene.night</td><td>0.385</td><td>0.285</td><td>-0.100</td></tr>" in html


def test_a_date_without_a_run_is_one_line_and_exit_2(sample_run, tmp_path, capsys, monkeypatch):
    from pipelines.cli import main

    monkeypatch.setenv("MSDB_VAR_DIR", str(tmp_path / "var"))
    assert main(["report", "--date", "2026-11-23", "--warehouse", str(sample_run.warehouse)]) == 2
    error = capsys.readouterr().err
    published = sample_run.warehouse.with_name("msdb.published.duckdb")
    assert error == f"msdb: error: no run for 2026-11-23 in {published}: runs are recorded for 2026-11-24\n"
    assert not (tmp_path / "var" / "reports").exists()
    assert main(["report", "--date", "2026-11-24", "--warehouse", str(sample_run.warehouse)]) == 0
    assert capsys.readouterr().out.strip() == f"report: {tmp_path / 'var' / 'reports' / '2026-11-24.html'}"


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs it: apt-get install chromium)")
def test_headless_chromium_renders_the_report_with_its_charts(sample_report, tmp_path):
    import numpy as np
    from matplotlib.image import imread

    from pipelines.report import charts

    screenshot = tmp_path / "report.png"
    shown = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={screenshot}", "--window-size=1280,2000",
         sample_report.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert shown.returncode == 0 and screenshot.exists(), shown.stderr[-2000:]
    pixels = np.round(imread(screenshot)[:, :, :3] * 255).astype(np.uint8)
    assert pixels.shape == (2000, 1280, 3)
    not_white = (pixels < 245).any(axis=2).mean()
    colours = len(np.unique(pixels.reshape(-1, 3), axis=0))
    assert not_white > 0.08, f"only {not_white:.1%} of the page is not white"
    assert colours > 200, f"only {colours} distinct colours"
    # the first chart (records per holder) is drawn: its 'loaded' green fills bars, not a stray pixel
    loaded = tuple(int(charts.LOADED[i : i + 2], 16) for i in (1, 3, 5))
    assert (np.abs(pixels.astype(int) - loaded).sum(axis=2) <= 6).sum() > 5_000
