"""A deal that cannot be a licence window (an end before its start, a date that does not read, a territory that is
no ISO 3166 code) is quarantined alone at ingest with its reason; the release and its other deals load, and the
file's counts reconcile. ERN 4.3, ERN 3.8.2, the catalog template, ADI 1.1 and ADI 3.0."""

from __future__ import annotations

from datetime import date

from tests.ingest.ern_messages import ern382
from tests.ingest.test_adi import ADI3
from tests.ingest.test_ddex import ern43_message


def _terms(territories: str, start: str | None, end: str | None = None) -> str:
    period = f"<StartDate>{start}</StartDate>" if start else ""
    period += f"<EndDate>{end}</EndDate>" if end else ""
    return (
        f"{territories}<ValidityPeriod>{period}</ValidityPeriod>"
        "<CommercialModelType>SubscriptionModel</CommercialModelType><UseType>OnDemandStream</UseType>"
    )


def _ern43_with_deals(*terms: str) -> bytes:
    """ern43_message with one Deal per DealTerms given, all in R0's ReleaseDeal."""
    return ern43_message(deal_terms="</DealTerms></Deal><Deal><DealTerms>".join(terms))


ERN43_DEALS = _ern43_with_deals(
    _terms("<TerritoryCode>JP</TerritoryCode>", "2026-12-01", "2027-11-30"),
    _terms("<TerritoryCode>JP</TerritoryCode>", "2021-01-01", "2020-01-01"),
    _terms("<TerritoryCode>JP</TerritoryCode><TerritoryCode>XZ</TerritoryCode>", "2026-12-01"),
    _terms("<TerritoryCode>KR</TerritoryCode>", "2026-13-01"),
    _terms("<TerritoryCode>Worldwide</TerritoryCode><ExcludedTerritoryCode>KR</ExcludedTerritoryCode>", "2026-12-01"),
    _terms("<TerritoryCode>WW</TerritoryCode>", "2027-01-01", "2027-01-01"),
    _terms("<TerritoryCode>Worldwide</TerritoryCode><ExcludedTerritoryCode>Worldwide</ExcludedTerritoryCode>", None),
)
DEAL = "/NewReleaseMessage/DealList/ReleaseDeal[1]/Deal"


def test_ern4_bad_deals_are_quarantined_alone(landing, ingest):
    landing.holder("tsukiyo", "music").write("music", "tsukiyo", "deals.xml", ERN43_DEALS)
    run = ingest(landing)
    # message, recording, release, the ReleaseDeal with its good deals: loaded; 4 deals refused
    assert run.file("deals.xml") == ("partial", 8, 4, 4, "ddex-ern-4.3")
    assert run.reasons("deals.xml") == [
        (f"{DEAL}[2]", "deal 2 of release R0 refused: deal ends 2020-01-01 before it starts 2021-01-01"),
        (f"{DEAL}[3]", "deal 3 of release R0 refused: territory 'XZ' is not an ISO 3166 code"),
        (f"{DEAL}[4]", "deal 4 of release R0 refused: deal start '2026-13-01' is not a date"),
        (f"{DEAL}[7]", "deal 7 of release R0 refused: excluded territory 'Worldwide' is not an ISO 3166 code"),
    ]
    assert run.rows(
        "SELECT deal_position, territories, excluded_territories, start_date, end_date FROM raw.ddex_deals "
        "ORDER BY deal_position"
    ) == [
        (1, ["JP"], [], date(2026, 12, 1), date(2027, 11, 30)),
        (5, ["Worldwide"], ["KR"], date(2026, 12, 1), None),
        (6, ["WW"], [], date(2027, 1, 1), date(2027, 1, 1)),
    ]
    assert run.one("SELECT icpn, title FROM raw.ddex_releases") == ("4589990300018", "Tsuki no Uta")
    assert run.one("SELECT count(*) FROM raw.ddex_resources") == 1


def test_ern3_bad_deals_are_quarantined_alone(landing, ingest):
    good = (
        "<Deal><DealTerms><CommercialModelType>SubscriptionModel</CommercialModelType><Usage><UseType>OnDemandStream"
        "</UseType></Usage><TerritoryCode>Worldwide</TerritoryCode><ExcludedTerritoryCode>CN</ExcludedTerritoryCode>"
        "<ValidityPeriod><StartDate>2026-12-01</StartDate></ValidityPeriod></DealTerms></Deal>"
    )
    inverted = good.replace("<StartDate>2026-12-01</StartDate>", "<StartDate>2021-01-01</StartDate><EndDate>2020-01-01</EndDate>")
    unknown = good.replace("<ExcludedTerritoryCode>CN</ExcludedTerritoryCode>", "<ExcludedTerritoryCode>QQ</ExcludedTerritoryCode>")
    landing.holder("tsukiyo", "music")
    landing.write("music", "tsukiyo", "mixed.xml", ern382("D-1", deals=good + inverted + unknown))
    landing.write("music", "tsukiyo", "only_bad.xml", ern382("D-2", deals=inverted, icpn="4589990300025"))
    run = ingest(landing)
    assert run.file("mixed.xml") == ("partial", 6, 4, 2, "ddex-ern-3.8.2")
    assert run.reasons("mixed.xml") == [
        (f"{DEAL}[2]", "deal 2 of release R0 refused: deal ends 2020-01-01 before it starts 2021-01-01"),
        (f"{DEAL}[3]", "deal 3 of release R0 refused: excluded territory 'QQ' is not an ISO 3166 code"),
    ]
    # the ReleaseDeal's only deal refused: no empty record is counted as loaded
    assert run.file("only_bad.xml") == ("partial", 4, 3, 1, "ddex-ern-3.8.2")
    assert run.rows("SELECT message_id, deal_position, excluded_territories FROM raw.ddex_deals") == [
        ("D-1", 1, ["CN"])
    ]
    assert run.rows("SELECT message_id FROM raw.ddex_releases ORDER BY 1") == [("D-1",), ("D-2",)]


CATALOG = """work_id,work_kind,title,display_artist,isrc,territories,excluded_territories,licence_start,licence_end
HK-101,recording,Kaze no Michi,Hoshizora Kai,JPZZ02600011,JP|KR,,2026-12-01,2027-11-30
HK-102,recording,Umi no Michi,Hoshizora Kai,JPZZ02600012,JP|XZ,,2026-12-01,
HK-103,recording,Yama no Michi,Hoshizora Kai,JPZZ02600013,Worldwide,QQ,2026-12-01,
HK-104,recording,Sora no Michi,Hoshizora Kai,JPZZ02600014,JP,,2026-12-01,2026-12-32
HK-105,recording,Mori no Michi,Hoshizora Kai,JPZZ02600015,JP,,2027-01-01,2026-01-01
"""


def test_catalog_rows_with_unknown_territories_or_bad_windows_are_refused(landing, ingest):
    landing.holder("hoshizora", "music").write("music", "hoshizora", "catalog.csv", CATALOG)
    run = ingest(landing)
    assert run.file("catalog.csv") == ("partial", 5, 1, 4, "catalog-template-csv")
    assert run.one("SELECT work_id, territories FROM raw.catalog_works") == ("HK-101", ["JP", "KR"])
    reasons = dict(run.reasons("catalog.csv"))
    assert reasons["row 2 (line 3)"] == "catalog row HK-102 rejected: territories: territory 'XZ' is not an ISO 3166 code"
    assert reasons["row 3 (line 4)"] == (
        "catalog row HK-103 rejected: excluded_territories: excluded territory 'QQ' is not an ISO 3166 code"
    )
    assert "licence_end: '2026-12-32' is not a 'date'" in reasons["row 4 (line 5)"]
    assert "licence_end 2026-01-01 is before licence_start 2027-01-01" in reasons["row 5 (line 6)"]


def _adi11_title(asset_id: str, title: str, start: str, end: str) -> str:
    ams = 'Provider="KUMO" Provider_ID="kumo.example" Version_Major="1" Version_Minor="0" Creation_Date="2026-11-01"'
    return f"""<Asset><Metadata><AMS Asset_Class="title" {ams} Asset_ID="{asset_id}"/>
<App_Data App="MOD" Name="Title" Value="{title}"/><App_Data App="MOD" Name="Year" Value="2025"/>
<App_Data App="MOD" Name="Licensing_Window_Start" Value="{start}"/><App_Data App="MOD" Name="Licensing_Window_End" Value="{end}"/>
</Metadata></Asset>"""


def test_adi_titles_with_inverted_windows_are_quarantined(landing, ingest):
    package = (
        '<?xml version="1.0" encoding="UTF-8"?><ADI><Metadata><AMS Asset_Class="package" Provider="KUMO" '
        'Provider_ID="kumo.example" Version_Major="1" Version_Minor="0" Creation_Date="2026-11-01" '
        'Asset_ID="KUMP0000000000000001"/></Metadata>'
        + _adi11_title("KUMT0000000000000001", "Cloud Harbour", "2026-12-01", "2027-05-31")
        + _adi11_title("KUMT0000000000000002", "Backwards Harbour", "2027-05-31", "2026-12-01")
        + "</ADI>"
    )
    landing.holder("kumo", "video").write("video", "kumo", "adi11.xml", package)
    landing.write(
        "video", "kumo", "adi3_offer.xml", ADI3.replace('endDateTime="2027-05-31T23:59:59Z"', 'endDateTime="2026-01-31T00:00:00Z"')
    )
    landing.write("video", "kumo", "adi3_title.xml", ADI3.replace('creationDateTime=', 'endDateTime="31/05/2027" creationDateTime='))
    run = ingest(landing)
    assert run.file("adi11.xml") == ("partial", 2, 1, 1, "adi-1.1")
    assert run.reasons("adi11.xml") == [
        ("/ADI/Asset[2]", "title KUMT0000000000000002: licensing window ends 2026-12-01 before it starts 2027-05-31")
    ]
    assert run.rows("SELECT title, licensing_window_end FROM raw.adi_titles") == [("Cloud Harbour", date(2027, 5, 31))]
    assert run.reasons("adi3_offer.xml") == [
        ("/ADI3/Title[1]", "title aozora.example/Title/AOZ3: Offer window ends 2026-01-31 before it starts 2026-12-01")
    ]
    assert run.reasons("adi3_title.xml") == [
        ("/ADI3/Title[1]", "title aozora.example/Title/AOZ3: licensing window end '31/05/2027' is not a date")
    ]
