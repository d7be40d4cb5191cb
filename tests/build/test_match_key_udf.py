"""dbt computes match keys with the very Python function ingest uses (`msdb_match_key`, registered by the
dbt-duckdb plugin `pipelines.build.dbt_plugin`), so CP932/JIS spellings of one name collapse in the marts too."""

from __future__ import annotations

import pytest
from stdnum import ean

from pipelines.text.match_key import match_key
from pipelines.warehouse import reader
from tests.build.conftest import ingest_and_build, rows
from tests.conftest import make_settings
from tests.ingest.ern_messages import ern382

pytestmark = pytest.mark.slow

# (artist and title of one single each): the first two are one name written with JIS 〜 and CP932 ～.
NAMES = ["月野〜レイ", "月野～レイ", "ＴＳＵＫＩＮＯ　Ｒｅｉ", "Spider−Man: Ｈｏｍｅ", "Café ∥ ￠￡ ― Live"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from tests.conftest import Landing

    root = tmp_path_factory.mktemp("match-key")
    landing = Landing(root / "landing")
    landing.holder("tsukiyo", "music")
    for number, name in enumerate(NAMES, start=1):
        body = f"45899903{number:04d}"
        message = ern382(
            f"MK-{number}",
            isrc=f"JPZZ0260{number:04d}",
            icpn=body + ean.calc_check_digit(body),
            artist=name,
            title_ja=name,
        ).replace("<TitleText>Tsuki no Uta</TitleText>", f"<TitleText>{name}</TitleText>")
        landing.write("music", "tsukiyo", f"single{number}.xml", message)
    settings = make_settings(root, landing.root)
    summary = ingest_and_build(settings)
    assert summary.failures == []
    return settings


def test_dbt_party_keys_are_the_python_match_keys(built):
    parties = rows(built, "SELECT name, name_key FROM marts.dim_party WHERE party_kind = 'person' ORDER BY name")
    assert parties and all(key == match_key(name) for name, key in parties)
    keys = sorted(key for _name, key in parties)
    assert keys == sorted({match_key(n) for n in NAMES})
    assert "月野~レイ" in keys and "spider-man: home" in keys and "café ‖ ¢£ - live" in keys


def test_cp932_and_jis_spellings_are_one_party_in_the_marts(built):
    [(party_id, works)] = rows(
        built,
        "SELECT p.party_id, count(DISTINCT b.work_id) FROM marts.dim_party p "
        "JOIN marts.bridge_work_party b USING (party_id) WHERE p.name_key = '月野~レイ' GROUP BY p.party_id",
    )
    assert works == 2  # the recording credited to each of the two spellings


def test_staging_views_read_through_reader_give_the_python_keys(built):
    with reader(built.warehouse) as con:
        titles = con.execute("SELECT title, title_match_key FROM staging.stg_ddex__resources").fetchall()
        assert len(titles) == len(NAMES)
        assert all(key == match_key(title) for title, key in titles)
        assert con.execute("SELECT msdb_match_key('ＴＯＫＹＯ　ﾗｰﾒﾝ〜')").fetchone() == ("tokyo ラーメン~",)
