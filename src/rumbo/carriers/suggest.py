"""Suggest a canonical status for a carrier code we have not mapped, from its text.

Learnt from the descriptions in Rumbo's own mapping tables (Correios in Portuguese; SEUR,
CTT Express and Correos in Spanish; the aggregators' documented status names as the only
English) and the statuses we gave them: character and word n-gram TF-IDF and a
similarity-weighted vote of the nearest known descriptions. Built once per process from
the Python tables (never from the CSVs). A suggestion is for a human to confirm when
adding a code to a table; it never maps an event by itself.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from rumbo.carriers.aggregators.aftership import AFTERSHIP_TAG
from rumbo.carriers.aggregators.easypost import EASYPOST_STATUS, EASYPOST_STATUS_DETAIL
from rumbo.carriers.aggregators.shippo import SHIPPO_SUBSTATUS
from rumbo.carriers.correios.mapping import CORREIOS_EVENTS
from rumbo.carriers.spain import CORREOS_ES_PHASES, CTT_EXPRESS_CODES, SEUR_CODES
from rumbo.events.status import Status

NEIGHBOURS = 9
# Votes are similarity**SHARPNESS: the closest descriptions count far more than the ninth.
SHARPNESS = 4
# Below this cosine similarity the nearest description shares too little to go on.
MIN_SIMILARITY = 0.15


@dataclass(frozen=True, slots=True)
class Example:
    """A known description and the status Rumbo gave it."""

    carrier: str
    code: str
    text: str
    status: Status | None


@dataclass(frozen=True, slots=True)
class Suggestion:
    """``status`` None means "informational" (or no confident guess when ``confidence`` is 0)."""

    status: Status | None
    confidence: float
    nearest: tuple[tuple[Example, float], ...]


def _normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def _english(table: Mapping[str, Status | None]) -> dict[str, tuple[Status | None, str]]:
    """Aggregator status names as English phrases ("arrived_at_pickup_location", "AttemptFail")."""
    phrases = {}
    for key, status in table.items():
        spaced = "".join(f" {c}" if c.isupper() else c for c in key).replace("_", " ")
        phrases[key] = (status, " ".join(spaced.split()).lower())
    return phrases


def known_examples() -> list[Example]:
    """Every mapped description, one per distinct (carrier, text, status)."""
    tables: Iterable[tuple[str, Mapping[str, tuple[Status | None, str]]]] = (
        ("correios", {f"{t}-{n:02d}": v for (t, n), v in CORREIOS_EVENTS.items()}),
        ("seur", SEUR_CODES),
        ("ctt_express", CTT_EXPRESS_CODES),
        ("correos_es", CORREOS_ES_PHASES),
        # The only English vocabulary we own: the aggregators' documented status names.
        ("easypost", _english({**EASYPOST_STATUS, **EASYPOST_STATUS_DETAIL})),
        ("shippo", _english(dict(SHIPPO_SUBSTATUS))),
        ("aftership", _english(AFTERSHIP_TAG)),
    )
    seen: set[tuple[str, str, Status | None]] = set()
    examples = []
    for carrier, table in tables:
        for code, (status, text) in table.items():
            key = (carrier, _normalise(text), status)
            if key not in seen:
                seen.add(key)
                examples.append(Example(carrier, code, text, status))
    return examples


@dataclass(frozen=True)
class _Index:
    examples: tuple[Example, ...]
    # scikit-learn ships no type information: a fitted Pipeline and its sparse matrix.
    vectorizer: Any
    matrix: Any


def _build(examples: Iterable[Example]) -> _Index:
    # Imported here: scikit-learn takes a second to load and only this feature needs it.
    from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
    from sklearn.pipeline import FeatureUnion, make_pipeline  # type: ignore[import-untyped]
    from sklearn.preprocessing import Normalizer  # type: ignore[import-untyped]

    items = tuple(examples)
    # Character n-grams survive accents, abbreviations ("EXP.", "RPTO") and Portuguese vs
    # Spanish spellings; word n-grams add whole-phrase evidence ("saiu para entrega").
    vectorizer = make_pipeline(
        FeatureUnion(
            [
                (
                    "chars",
                    TfidfVectorizer(
                        analyzer="char_wb",
                        ngram_range=(2, 4),
                        sublinear_tf=True,
                        preprocessor=_normalise,
                    ),
                ),
                (
                    "words",
                    TfidfVectorizer(
                        analyzer="word",
                        ngram_range=(1, 2),
                        sublinear_tf=True,
                        preprocessor=_normalise,
                    ),
                ),
            ]
        ),
        Normalizer(),
    )
    matrix = vectorizer.fit_transform([e.text for e in items])
    return _Index(items, vectorizer, matrix)


@cache
def _index() -> _Index:
    return _build(known_examples())


def _vote(ranked: list[tuple[Example, float]]) -> Suggestion:
    if not ranked or ranked[0][1] < MIN_SIMILARITY:
        return Suggestion(None, 0.0, tuple(ranked))
    weights: dict[Status | None, float] = defaultdict(float)
    for example, similarity in ranked:
        weights[example.status] += similarity**SHARPNESS
    status, weight = max(weights.items(), key=lambda kv: (kv[1], str(kv[0])))
    return Suggestion(status, round(weight / sum(weights.values()), 3), tuple(ranked))


def suggest_status(text: str, *, neighbours: int = NEIGHBOURS) -> Suggestion:
    """Suggest a status for a carrier's description (Portuguese, Spanish or English)."""
    index = _index()
    if not text.strip():
        return Suggestion(None, 0.0, ())
    similarities = (index.matrix @ index.vectorizer.transform([text]).T).toarray().ravel()
    order = similarities.argsort()[::-1][:neighbours]
    return _vote([(index.examples[i], float(similarities[i])) for i in order])


def leave_one_out_accuracy(neighbours: int = NEIGHBOURS) -> tuple[float, int]:
    """Accuracy when each known description is held out and suggested from the others.

    Every example sharing the held-out text is removed too, so a code repeated under
    another event type (BDE/BDI/BDR) cannot answer for itself. Returns (accuracy, n).
    """
    index = _index()
    texts = [_normalise(e.text) for e in index.examples]
    similarities = (index.matrix @ index.matrix.T).toarray()
    hits = 0
    for i, example in enumerate(index.examples):
        order = [j for j in similarities[i].argsort()[::-1] if texts[j] != texts[i]]
        ranked = [(index.examples[j], float(similarities[i][j])) for j in order[:neighbours]]
        hits += _vote(ranked).status == example.status
    return hits / len(index.examples), len(index.examples)
