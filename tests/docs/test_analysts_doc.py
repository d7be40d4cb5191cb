"""docs/analysts.md: every example query in it runs, as written, on the published copy of the sample run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "analysts.md"
QUERIES = re.findall(r"```sql\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


def _query(containing: str) -> str:
    (query,) = [q for q in QUERIES if containing in q]
    return query


@pytest.fixture(scope="module")
def published(sample_run):
    from pipelines.warehouse import published_reader

    with published_reader(sample_run.warehouse) as con:
        yield con


def test_the_doc_has_an_example_for_each_part_of_the_warehouse():
    assert len(QUERIES) >= 20
    for table in ("marts.dim_work", "marts.works_as_of(", "marts.works_delivered_as_of(", "marts.licence_windows_by_territory_as_of(",
                  "kansei.work_tags", "kansei.tag_drift", "similarity.work_neighbors", "similarity.ad_matches",
                  "exports.delivery_ledger", "ops.stage_runs", "ops.quarantine", "ops.quality_results"):  # fmt: skip
        assert any(table in query for query in QUERIES), table


@pytest.mark.parametrize("query", QUERIES, ids=[f"query{number}" for number in range(len(QUERIES))])
def test_every_example_query_runs(published, query):
    cursor = published.execute(query)
    assert cursor.description, query
    cursor.fetchall()


def test_example_queries_give_the_sample_runs_figures(published):
    assert published.execute(_query("select count(*) as works from marts.works_as_of(now())")).fetchall() == [(13,)]
    delivered = dict(published.execute(_query("works_delivered_as_of(timestamptz '2026-11-24")).fetchall())
    assert delivered == {"episode": 1, "movie": 1, "recording": 8, "release": 1, "season": 1, "series": 1}
    assert published.execute(_query("works_delivered_as_of(timestamptz '2026-11-19")).fetchall() == [(0,)]
    (work,) = published.execute(_query("select work_id, title, title_ja")).fetchall()
    assert work[1:5] == ("Yoru no Ame, Hitori", "夜の雨、ひとり", "Yoru no Ame, Hitori", "Hoshino Mina")
    tags = published.execute(_query("t.rank, t.tag_id, t.label_ja")).fetchall()
    assert ("scene.rain", "雨", "lexicon") in [(tag, label, source) for _, tag, label, _, source, _ in tags]
    ledger = published.execute(_query("from exports.delivery_ledger")).fetchall()
    assert [(r[0], r[1], r[3], r[6], r[7]) for r in ledger] == [
        ("cinema-now", "works", "delivered", 2, 2), ("kizuna-ads", "ad_matches", "delivered", 65, 65),
        ("melody-stream", "mead", "delivered", 9, None), ("melody-stream", "mood_stations", "delivered", 17, None),
        ("melody-stream", "works", "delivered", 9, 9),
    ]  # fmt: skip


def test_the_python_example_reads_the_published_copy(sample_run):
    from pipelines.warehouse import published_path

    (example,) = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    namespace: dict = {}
    exec(example.replace("var/warehouse/msdb.published.duckdb", str(published_path(sample_run.warehouse))), namespace)
    namespace["con"].close()
    works = namespace["works"]
    assert len(works) == 5 and "work_id" in works.columns and works["work_id"].str.startswith("w_").all()
