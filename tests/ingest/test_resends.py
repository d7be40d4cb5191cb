"""A DDEX message resent under another sha256 (with a BOM, in Shift_JIS) is recognised by its id, creation time
and sender: recorded in ops.ingest_files as already_loaded, naming the earlier file, and no raw row doubles."""

from __future__ import annotations

import codecs

from tests.ingest.ern_messages import ern382, shift_jis_bytes

RAW_COUNTS = (
    "SELECT (SELECT count(*) FROM raw.ddex_messages), (SELECT count(*) FROM raw.ddex_releases), "
    "(SELECT count(*) FROM raw.ddex_resources), (SELECT count(*) FROM raw.ddex_deals)"
)
EARLIER = (
    "message 'RS-1' of 2026-11-03T10:00:00+09:00 from 'PADPIDA2026110101X' already loaded from "
    "music/tsukiyo/a_utf8.xml; this copy is not loaded again"
)


def test_resends_in_other_encodings_are_recorded_not_loaded(landing, ingest):
    landing.holder("tsukiyo", "music")
    landing.write("music", "tsukiyo", "a_utf8.xml", ern382("RS-1", title_ja="月〜星"))
    landing.write("music", "tsukiyo", "b_bom.xml", codecs.BOM_UTF8 + ern382("RS-1", title_ja="月〜星").encode())
    landing.write(
        "music", "tsukiyo", "c_sjis.xml", shift_jis_bytes(ern382("RS-1", title_ja="月〜星", encoding="Shift_JIS"))
    )
    landing.write(
        "music", "tsukiyo", "d_cp932.xml", shift_jis_bytes(ern382("RS-1", title_ja="月〜星", encoding="Windows-31J"))
    )
    run = ingest(landing)
    assert run.one(RAW_COUNTS) == (1, 1, 1, 1)
    assert run.rows(
        "SELECT file_path, status, records_found, records_loaded, records_quarantined, reason "
        "FROM ops.ingest_files ORDER BY file_path"
    ) == [
        ("music/tsukiyo/a_utf8.xml", "loaded", 4, 4, 0, None),
        ("music/tsukiyo/b_bom.xml", "already_loaded", 0, 0, 0, EARLIER),
        ("music/tsukiyo/c_sjis.xml", "already_loaded", 0, 0, 0, EARLIER),
        ("music/tsukiyo/d_cp932.xml", "already_loaded", 0, 0, 0, EARLIER),
    ]
    assert [o.status for o in run.summary.files] == ["loaded", "already_loaded", "already_loaded", "already_loaded"]
    assert run.rows("SELECT * FROM ops.quarantine") == []

    again = ingest(landing)  # the next night: every file known by its sha256
    assert again.one(RAW_COUNTS) == (1, 1, 1, 1)
    assert {o.status for o in again.summary.files} == {"skipped"}
    assert again.one("SELECT count(*) FROM ops.ingest_files") == 4


def test_resend_on_a_later_night_and_a_new_message_of_the_same_id(landing, ingest):
    landing.holder("tsukiyo", "music")
    landing.write("music", "tsukiyo", "a_utf8.xml", ern382("RS-1"))
    first = ingest(landing)
    assert first.one(RAW_COUNTS) == (1, 1, 1, 1)
    landing.write("music", "tsukiyo", "b_bom.xml", codecs.BOM_UTF8 + ern382("RS-1").encode())
    # same id, created later: a new state of the release, loaded
    landing.write("music", "tsukiyo", "c_update.xml", ern382("RS-1", created="2026-11-04T10:00:00+09:00"))
    # same id and time from another sender: not the same message
    landing.write("music", "tsukiyo", "d_other_sender.xml", ern382("RS-1", sender="PADPIDA2026110102V"))
    second = ingest(landing)
    assert second.rows("SELECT file_path, status, reason FROM ops.ingest_files ORDER BY file_path") == [
        ("music/tsukiyo/a_utf8.xml", "loaded", None),
        ("music/tsukiyo/b_bom.xml", "already_loaded", EARLIER),
        ("music/tsukiyo/c_update.xml", "loaded", None),
        ("music/tsukiyo/d_other_sender.xml", "loaded", None),
    ]
    assert second.one(RAW_COUNTS) == (3, 3, 3, 3)


def test_a_resend_of_a_message_whose_first_copy_was_refused_loads(landing, ingest):
    landing.holder("tsukiyo", "music")
    whole = ern382("RS-1")
    landing.write("music", "tsukiyo", "a_truncated.xml", whole[: whole.index("<DealList>")])
    landing.write("music", "tsukiyo", "b_complete.xml", whole)
    run = ingest(landing)
    assert run.rows("SELECT file_path, status FROM ops.ingest_files ORDER BY file_path") == [
        ("music/tsukiyo/a_truncated.xml", "quarantined"),
        ("music/tsukiyo/b_complete.xml", "loaded"),
    ]
    assert run.one(RAW_COUNTS) == (1, 1, 1, 1)
