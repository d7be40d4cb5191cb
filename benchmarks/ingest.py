"""Ingest throughput and memory on a generated DDEX ERN 4.3 delivery of at least 200 MB.

    .venv/bin/python benchmarks/ingest.py [--size-mb 200] [--keep DIR]

Writes one NewReleaseMessage (albums of 20 recordings shaped like a label's real delivery: Japanese and romanised
titles, contributors, technical details, deals) into a temporary landing, then in two child processes:
  1. runs `pipelines.ingest.run_ingest` on it (sha256, parse, DuckDB load into a new warehouse) with the
     default settings: a message this large is read by the loader and `ingest_helpers` helper processes
     together (one per core beyond the first; see pipelines/ingest/helpers.py). A one-album delivery is
     ingested first, untimed, so that one-off costs (importing polars, DuckDB, lxml; DuckDB importing pandas
     on its first parameterised query) are not counted as throughput;
  2. makes a bare `lxml.etree.iterparse` pass over the same bytes (clearing elements, nothing else).
Prints MB/s, records/s, the ratio of ingest throughput to the bare pass (target >= 0.5), the peak memory of
the ingest (target < 500 MB whatever the file size) and the load average (both passes are timed on the wall
clock, so other work on the machine slows them, and not always alike). Memory is that of the loader and
its helpers together, as summed RSS and summed PSS (see measure.py); the loader's own peak RSS is printed
too. Every identifier in the generated file is fictional but valid.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from measure import peak_rss_mb, run_child

REPO = Path(__file__).resolve().parents[1]
TRACKS_PER_ALBUM = 20


def _ean13(body12: str) -> str:
    from stdnum import ean

    return body12 + ean.calc_check_digit(body12)


def _recording(n: int) -> str:
    isrc = f"JPZZ0{26 + n // 100_000:02d}{n % 100_000:05d}"
    return f"""<SoundRecording><ResourceReference>A{n}</ResourceReference><Type>MusicalWorkSoundRecording</Type>
<SoundRecordingEdition><ResourceId><ISRC>{isrc}</ISRC></ResourceId><PLine><Year>2026</Year><PLineText>(P) 2026 Tsukiyo Label</PLineText></PLine>
<TechnicalDetails><TechnicalResourceDetailsReference>T{n}</TechnicalResourceDetailsReference><DeliveryFile><Type>AudioFile</Type>
<AudioCodecType>FLAC</AudioCodecType><NumberOfChannels>2</NumberOfChannels><SamplingRate UnitOfMeasure="kHz">44.1</SamplingRate>
<BitsPerSample>16</BitsPerSample><File><URI>resources/{isrc}.flac</URI><HashSum><Algorithm>MD5</Algorithm>
<HashSumValue>{n:032x}</HashSumValue></HashSum></File></DeliveryFile><ClipDetails><TechnicalResourceDetailsReference>T{n}C</TechnicalResourceDetailsReference>
<ClipType>Preview</ClipType><Timing><StartPoint>30.0</StartPoint><DurationUsed>PT30S</DurationUsed></Timing><ExpressionType>Instructive</ExpressionType></ClipDetails>
</TechnicalDetails></SoundRecordingEdition>
<DisplayTitleText>Tsuki no Uta No. {n}</DisplayTitleText>
<DisplayTitle ApplicableTerritoryCode="Worldwide" IsDefault="true"><TitleText>Tsuki no Uta No. {n}</TitleText></DisplayTitle>
<DisplayTitle LanguageAndScriptCode="ja-Jpan" ApplicableTerritoryCode="Worldwide"><TitleText>月の歌 第{n}番</TitleText></DisplayTitle>
<DisplayArtistName ApplicableTerritoryCode="Worldwide" LanguageAndScriptCode="ja-Latn" IsDefault="true">Tsukino Rei</DisplayArtistName>
<DisplayArtistName ApplicableTerritoryCode="Worldwide" LanguageAndScriptCode="ja-Jpan">月野レイ</DisplayArtistName>
<DisplayArtist SequenceNumber="1"><ArtistPartyReference>P{n % 500}</ArtistPartyReference><DisplayArtistRole>MainArtist</DisplayArtistRole></DisplayArtist>
<Contributor SequenceNumber="1"><ContributorPartyReference>P{(n + 1) % 500}</ContributorPartyReference><Role>Composer</Role></Contributor>
<Contributor SequenceNumber="2"><ContributorPartyReference>P{(n + 2) % 500}</ContributorPartyReference><Role>Lyricist</Role></Contributor>
<Duration>PT{3 + n % 3}M{n % 60}S</Duration><CreationDate IsApproximate="true">2026-01-01</CreationDate>
<ParentalWarningType>NotExplicit</ParentalWarningType><IsInstrumental>false</IsInstrumental><LanguageOfPerformance>ja</LanguageOfPerformance>
</SoundRecording>
"""


def _album(album: int) -> tuple[str, str]:
    first = album * TRACKS_PER_ALBUM + 1
    items = "".join(
        f"<ResourceGroupContentItem><SequenceNumber>{i + 1}</SequenceNumber><ReleaseResourceReference>A{first + i}"
        f"</ReleaseResourceReference></ResourceGroupContentItem>"
        for i in range(TRACKS_PER_ALBUM)
    )
    release = f"""<Release><ReleaseReference>R{album}</ReleaseReference><ReleaseType>Album</ReleaseType>
<ReleaseId><ICPN>{_ean13(f"45899904{album:04d}")}</ICPN></ReleaseId><DisplayTitleText>Yoru no Album {album}</DisplayTitleText>
<DisplayTitle IsDefault="true"><TitleText>Yoru no Album {album}</TitleText></DisplayTitle>
<DisplayTitle LanguageAndScriptCode="ja-Jpan"><TitleText>夜のアルバム {album}</TitleText></DisplayTitle>
<DisplayArtistName>Tsukino Rei</DisplayArtistName><ReleaseLabelReference>PLabel</ReleaseLabelReference>
<Duration>PT72M</Duration><Genre><GenreText>J-Pop</GenreText></Genre><ReleaseDate>2026-12-01</ReleaseDate>
<ResourceGroup><SequenceNumber>1</SequenceNumber>{items}</ResourceGroup></Release>
"""
    deal = f"""<ReleaseDeal><DealReleaseReference>R{album}</DealReleaseReference>
<Deal><DealTerms><TerritoryCode>JP</TerritoryCode><ValidityPeriod><StartDate>2026-11-01</StartDate></ValidityPeriod>
<CommercialModelType>SubscriptionModel</CommercialModelType><CommercialModelType>AdvertisementSupportedModel</CommercialModelType>
<UseType>OnDemandStream</UseType><UseType>ConditionalDownload</UseType></DealTerms></Deal>
<Deal><DealTerms><TerritoryCode>Worldwide</TerritoryCode><ExcludedTerritoryCode>JP</ExcludedTerritoryCode><ExcludedTerritoryCode>KR</ExcludedTerritoryCode>
<ValidityPeriod><StartDate>2026-12-01</StartDate><EndDate>2027-11-30</EndDate></ValidityPeriod>
<CommercialModelType>PayAsYouGoModel</CommercialModelType><UseType>PermanentDownload</UseType></DealTerms></Deal></ReleaseDeal>
"""
    return release, deal


def generate(path: Path, megabytes: int) -> int:
    """Write the message; returns the number of records it holds (recordings + releases + deals + header)."""
    target = megabytes * 1_000_000
    bytes_per_album = len(_recording(1).encode()) * TRACKS_PER_ALBUM + sum(len(p.encode()) for p in _album(0))
    albums = target // bytes_per_album + 1
    if albums * TRACKS_PER_ALBUM >= 10_000_000:
        raise SystemExit("too large for the fictional ISRC range")
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<ern:NewReleaseMessage xmlns:ern="http://ddex.net/xml/ern/43" '
            'ReleaseProfileVersionId="Audio" LanguageAndScriptCode="en">\n<MessageHeader><MessageThreadId>BENCH</MessageThreadId>'
            "<MessageId>BENCH.1</MessageId><MessageSender><PartyId>PADPIDA2026110101X</PartyId><PartyName><FullName>Tsukiyo Label"
            "</FullName></PartyName></MessageSender><MessageCreatedDateTime>2026-11-20T10:00:00+09:00</MessageCreatedDateTime>"
            "</MessageHeader>\n<PartyList>\n"
        )
        out.write(
            "<Party><PartyReference>PLabel</PartyReference><PartyName><FullName>Tsukiyo Label</FullName></PartyName></Party>\n"
        )
        for p in range(500):
            out.write(
                f"<Party><PartyReference>P{p}</PartyReference><PartyName><FullName>Artist {p}</FullName></PartyName>"
                f'<PartyName LanguageAndScriptCode="ja-Jpan"><FullName>歌手{p}</FullName></PartyName></Party>\n'
            )
        out.write("</PartyList>\n<ResourceList>\n")
        for n in range(1, albums * TRACKS_PER_ALBUM + 1):
            out.write(_recording(n))
        out.write("</ResourceList>\n<ReleaseList>\n")
        deals = []
        for album in range(albums):
            release, deal = _album(album)
            out.write(release)
            deals.append(deal)
        out.write("</ReleaseList>\n<DealList>\n")
        out.writelines(deals)
        out.write("</DealList>\n</ern:NewReleaseMessage>\n")
    return albums * TRACKS_PER_ALBUM + 2 * albums + 1


def _child_ingest(landing: str, warehouse: str, warmup_landing: str) -> None:
    """Ingest a one-album delivery into a scratch warehouse first (untimed: imports, DuckDB's first queries),
    as the bare pass imports lxml before its clock starts; then time the delivery into a new warehouse."""
    from datetime import date

    sys.path.insert(0, str(REPO))
    from pipelines.ingest import run_ingest
    from pipelines.settings import MsdbSettings

    def settings(landing: str, warehouse: Path) -> MsdbSettings:
        return MsdbSettings(
            landing=Path(landing),
            warehouse=warehouse,
            var_dir=warehouse.parent / "var",
            deliver=str(warehouse.parent / "out"),
        )

    started = time.perf_counter()
    run_ingest(
        settings(warmup_landing, Path(warehouse).parent / "warmup" / "msdb.duckdb"), date(2026, 11, 24)
    )
    warmup = time.perf_counter() - started
    started = time.perf_counter()
    summary = run_ingest(settings(landing, Path(warehouse)), date(2026, 11, 24))
    elapsed = time.perf_counter() - started
    outcome = summary.files[0]
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "warmup_seconds": warmup,
                "status": outcome.status,
                "readers": outcome.readers,
                "loaded": outcome.loaded,
                "quarantined": outcome.quarantined,
                "rss": peak_rss_mb(),
            }
        )
    )


def _child_iterparse(path: str) -> None:
    from lxml import etree

    started = time.perf_counter()
    count = 0
    for _event, elem in etree.iterparse(path, events=("end",)):
        count += 1
        elem.clear()
    print(json.dumps({"seconds": time.perf_counter() - started, "elements": count}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size-mb",
        "--megabytes",
        dest="size_mb",
        type=int,
        default=200,
        help="size of the generated delivery in MB (default 200; e.g. 1000 to check that memory stays bounded)",
    )
    parser.add_argument(
        "--keep", type=Path, help="write the delivery and warehouse here instead of a temp dir"
    )
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="msdb-bench-"))
    try:
        landing, warmup = work / "landing", work / "warmup-landing"
        delivery = landing / "music" / "tsukiyo" / "BENCH.xml"
        for root in (landing, warmup):
            (root / "music" / "tsukiyo").mkdir(parents=True, exist_ok=True)
            (root / "registry.yaml").write_text(
                "holders:\n  - {id: tsukiyo, name: Tsukiyo Label, kind: music}\n"
            )
        generate(warmup / "music" / "tsukiyo" / "WARMUP.xml", 0)  # one album
        started = time.perf_counter()
        records = generate(delivery, args.size_mb)
        size_mb = delivery.stat().st_size / 1_000_000
        print(f"generated {size_mb:.1f} MB, {records:,} records in {time.perf_counter() - started:.1f}s")

        ingest, memory = run_child(
            __file__, "_ingest", str(landing), str(work / "warehouse" / "msdb.duckdb"), str(warmup)
        )
        bare, _ = run_child(__file__, "_iterparse", str(delivery))
        if ingest["status"] != "loaded" or ingest["loaded"] != records:
            raise SystemExit(f"ingest did not load every record: {ingest}")
        ingest_rate, bare_rate = size_mb / ingest["seconds"], size_mb / bare["seconds"]
        print(
            f"ingest:            {ingest['seconds']:.1f}s  {ingest_rate:.1f} MB/s  {records / ingest['seconds']:,.0f} records/s"
            f"  (after an untimed {ingest['warmup_seconds']:.1f}s warm-up on a one-album delivery)"
        )
        print(f"bare iterparse:    {bare['seconds']:.1f}s  {bare_rate:.1f} MB/s")
        print(f"ratio to iterparse: {ingest_rate / bare_rate:.2f}  (target >= 0.5)")
        print(
            f"ingest peak memory: {memory.peak_rss_mb} MB RSS, {memory.peak_pss_mb} MB PSS, "
            f"loader and helpers together (target < 500 MB); the loader alone: {ingest['rss']} MB RSS"
        )
        print(
            f"readers:           {ingest['readers']} (the loader and {ingest['readers'] - 1} helper process(es))"
        )
        print(f"load average:      {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} cores")
        print(json.dumps({
            "size_mb": round(size_mb, 1), "records": records, "ingest_seconds": round(ingest["seconds"], 2),
            "bare_seconds": round(bare["seconds"], 2), "ratio": round(ingest_rate / bare_rate, 3),
            "peak_rss_mb": memory.peak_rss_mb, "peak_pss_mb": memory.peak_pss_mb,
        }))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_ingest":
        _child_ingest(*sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "_iterparse":
        _child_iterparse(*sys.argv[2:])
    else:
        main()
