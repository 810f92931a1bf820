"""The labelled questions shipped with Rumbo (``data/questions.csv``) and optional extra data.

Columns: ``text, lang, intent, split``. The split (``train`` / ``test``, about 70/30 and
stratified by language and intent) is recorded in the file so every run evaluates on the
same questions. Rows with intent ``out_of_scope`` are test-only: they measure how often
the assistant hands a question it cannot answer over to a person.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rumbo.assistant.intents import Intent

DATA_FILE = Path(__file__).parent / "data" / "questions.csv"
OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    lang: str
    intent: str  # an Intent value, or OUT_OF_SCOPE
    split: str


@lru_cache(maxsize=1)
def load_examples(path: Path = DATA_FILE) -> tuple[Example, ...]:
    with path.open(encoding="utf-8", newline="") as fp:
        return tuple(
            Example(row["text"], row["lang"], row["intent"], row["split"])
            for row in csv.DictReader(fp)
        )


def in_scope(examples: tuple[Example, ...], split: str) -> list[Example]:
    return [e for e in examples if e.split == split and e.intent != OUT_OF_SCOPE]


def out_of_scope(examples: tuple[Example, ...]) -> list[Example]:
    return [e for e in examples if e.intent == OUT_OF_SCOPE]


# Bitext intents (English customer-support utterances, CDLA-Sharing-1.0, read in place
# from the shared data folder, never copied) that mean one of ours.
BITEXT_MAP: dict[str, Intent] = {
    "track_order": Intent.WHERE_IS_ORDER,
    "delivery_period": Intent.DELIVERY_DATE,
    "cancel_order": Intent.CANCEL_ORDER,
    "change_shipping_address": Intent.CHANGE_ADDRESS,
    "contact_human_agent": Intent.HUMAN_AGENT,
    "get_refund": Intent.RETURN_EXCHANGE,
}


def load_bitext(path: Path, per_intent: int = 60) -> list[Example]:
    """A mapped subset of the Bitext rows as English training examples (first ``per_intent``)."""
    counts: dict[str, int] = {}
    out: list[Example] = []
    with path.open(encoding="utf-8", newline="") as fp:
        for row in csv.DictReader(fp):
            intent = BITEXT_MAP.get(row["intent"])
            if intent is None or counts.get(intent, 0) >= per_intent:
                continue
            counts[intent] = counts.get(intent, 0) + 1
            out.append(Example(row["instruction"], "en", intent.value, "train"))
    return out
