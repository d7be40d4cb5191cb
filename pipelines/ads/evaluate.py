"""`msdb ads eval`: how often the articles matched to a creative are of the categories it expects.

Input: creatives as JSON Lines (the ingest schema, each with `"expected": [article categories]`) and a folder
in the livedoor news corpus layout (`<category>/<file>.txt`: URL, date, title, then the body; the folder name
is the article's category). Every article is classified, tagged with kansei tags (the tag stage's scorer) and
matched to the creatives exactly as the nightly stage does, flight windows aside; its top-1 creative counts.
For each creative: the share of its matched articles whose category it expects; overall: that share over all
matched articles (micro average). Memory: one block of articles at a time, plus the creatives.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from pipelines.ads.classify import ArticleClassifier
from pipelines.ads.config import load_ads_config
from pipelines.ads.embedding import embed_texts
from pipelines.ads.iab import IabTaxonomy
from pipelines.ads.matching import Creative, CreativeSet
from pipelines.ingest.ad_creatives import creative_errors
from pipelines.settings import MsdbSettings

EVAL_MODEL = "ads:livedoor"
EVAL_METRIC = "expected_category_share@1"
BLOCK_ROWS = 256


class EvalInputError(ValueError):
    """A creative file or article folder the evaluation cannot use; says which line or file and why."""


@dataclass
class CreativeResult:
    creative_id: str
    expected: list[str]
    matched: int = 0
    expected_matched: int = 0
    categories: dict[str, int] = field(default_factory=dict)

    @property
    def share(self) -> float | None:
        return self.expected_matched / self.matched if self.matched else None


@dataclass
class AdsEval:
    articles: int
    articles_matched: int
    creatives: list[CreativeResult]

    @property
    def matched(self) -> int:
        return sum(c.matched for c in self.creatives if c.expected)

    @property
    def overall(self) -> float:
        """Matched articles of a category their creative expects, over all matched articles (of creatives that
        expect something)."""
        return sum(c.expected_matched for c in self.creatives if c.expected) / self.matched if self.matched else 0.0

    @property
    def macro(self) -> float:
        shares = [c.share for c in self.creatives if c.expected and c.share is not None]
        return sum(shares) / len(shares) if shares else 0.0


def read_creatives(path: Path, taxonomy: IabTaxonomy) -> tuple[list[Creative], dict[str, list[str]]]:
    """The creatives of a JSON Lines file and what each expects; a bad line stops the evaluation, named."""
    creatives, expected = [], {}
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalInputError(f"{path}, line {number}: invalid JSON line: {exc.msg}") from exc
        if not isinstance(item, dict):
            raise EvalInputError(f"{path}, line {number}: expected a JSON object")
        errors = creative_errors(item, None, None, taxonomy)
        if errors:
            raise EvalInputError(f"{path}, line {number}: {'; '.join(errors)}")
        exclusions = item.get("brand_safety_exclusions") or {}
        creatives.append(
            Creative(
                item["creative_id"], item["advertiser_id"], item["campaign_id"], item["headline"], item["body"],
                tuple(item.get("target_kansei_tags", [])), tuple(item["iab_categories"]),
                tuple(exclusions.get("categories", [])), tuple(exclusions.get("risk_levels", [])),
            )
        )  # fmt: skip
        expected[item["creative_id"]] = list(item.get("expected", []))
    if not creatives:
        raise EvalInputError(f"{path}: no creatives")
    return creatives, expected


def livedoor_articles(folder: Path, per_category: int | None = None) -> Iterator[tuple[str, str, str, str]]:
    """(article id, category, title, body) of every `<category>/*.txt` article (or the first `per_category` of
    each category), in path order."""
    taken: dict[str, int] = {}
    for path in sorted(folder.glob("*/*.txt")):
        if path.name.upper().startswith("LICENSE"):
            continue
        if per_category is not None and taken.get(path.parent.name, 0) >= per_category:
            continue
        taken[path.parent.name] = taken.get(path.parent.name, 0) + 1
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        if len(lines) < 3:
            continue
        yield path.relative_to(folder).as_posix(), path.parent.name, lines[2].strip(), "\n".join(lines[3:])


def evaluate(settings: MsdbSettings, creatives_file: Path, livedoor: Path, per_category: int | None = None) -> AdsEval:
    from pipelines.kansei import score_texts

    config = load_ads_config(settings.models_dir)
    taxonomy = config.taxonomy(settings.iab_taxonomy)
    creatives, expected = read_creatives(creatives_file, taxonomy)
    articles = list(livedoor_articles(livedoor, per_category))
    if not articles:
        raise EvalInputError(f"{livedoor}: no livedoor-format articles (<category>/<file>.txt)")
    classifier = ArticleClassifier(config, taxonomy)
    creative_vectors = embed_texts([c.text for c in creatives], config.embedding.batch_size)
    matcher = CreativeSet(creatives, creative_vectors, taxonomy, config.matching)
    results = {c.creative_id: CreativeResult(c.creative_id, expected[c.creative_id]) for c in creatives}
    category_of = {article_id: category for article_id, category, _, _ in articles}
    matched_articles = 0
    for start in range(0, len(articles), BLOCK_ROWS):
        block = articles[start : start + BLOCK_ROWS]
        ids, titles, bodies = [a[0] for a in block], [a[2] for a in block], [a[3] for a in block]
        vectors = classifier.embed(titles, bodies)
        contexts = classifier.classify(vectors, titles, bodies)
        japanese = [f"{t} {b}" for t, b in zip(titles, bodies, strict=True)]
        kansei = [{tag: score for tag, (score, _) in tags.items()} for tags in score_texts([""] * len(block), japanese, settings)]
        for match in matcher.match(ids, vectors, contexts, kansei):
            if match.rank != 1:
                continue
            matched_articles += 1
            result = results[match.creative_id]
            category = category_of[match.article_id]
            result.matched += 1
            result.categories[category] = result.categories.get(category, 0) + 1
            if category in result.expected:
                result.expected_matched += 1
    return AdsEval(len(articles), matched_articles, sorted(results.values(), key=lambda r: r.creative_id))


def store_eval(settings: MsdbSettings, result: AdsEval, logical_date: date, source: str) -> None:
    """One row in ops.model_evals (per-creative figures in details), replacing that date's earlier one."""
    from pipelines.warehouse import writer

    details = {
        "source": source,
        "articles": result.articles,
        "articles_matched": result.articles_matched,
        "macro_share": round(result.macro, 6),
        "creatives": [
            {
                "creative_id": c.creative_id,
                "expected": c.expected,
                "matched": c.matched,
                "expected_matched": c.expected_matched,
                "share": None if c.share is None else round(c.share, 6),
                "categories": dict(sorted(c.categories.items())),
            }
            for c in result.creatives
        ],
    }
    with writer(settings.warehouse) as con:
        con.begin()
        con.execute(
            "DELETE FROM ops.model_evals WHERE logical_date = ? AND model = ? AND metric = ?",
            [logical_date, EVAL_MODEL, EVAL_METRIC],
        )
        con.execute(
            "INSERT INTO ops.model_evals VALUES (?, ?, ?, ?, ?, ?, ?)",
            [logical_date, EVAL_MODEL, EVAL_METRIC, round(result.overall, 6), result.matched, json.dumps(details, ensure_ascii=False), datetime.now(UTC)],
        )
        con.commit()
