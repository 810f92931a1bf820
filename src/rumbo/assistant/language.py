"""Which of Rumbo's three languages a question is written in (pt-BR, es or en).

A multinomial naive Bayes over character 1-3-grams, trained on the ``lang`` column of
the shipped questions (train split). Short or language-neutral text ("??", "ok", an
emoji) gives a flat posterior, so below ``MIN_CONFIDENCE`` it answers ``None`` and the
caller falls back to the shopper's locale.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from sklearn.feature_extraction.text import CountVectorizer  # type: ignore[import-untyped]
from sklearn.naive_bayes import MultinomialNB  # type: ignore[import-untyped]
from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]

from rumbo.assistant.dataset import Example, load_examples
from rumbo.assistant.text import normalize

MIN_CONFIDENCE = 0.6


class LanguageDetector:
    def __init__(self, examples: Sequence[Example]) -> None:
        self._pipeline = Pipeline(
            [
                ("chars", CountVectorizer(analyzer="char_wb", ngram_range=(1, 3))),
                ("model", MultinomialNB(alpha=0.1)),
            ]
        )
        self._pipeline.fit([normalize(e.text) for e in examples], [e.lang for e in examples])

    def detect(self, text: str) -> str | None:
        normalized = normalize(text)
        if sum(ch.isalpha() for ch in normalized) < 2:
            return None
        probs = self._pipeline.predict_proba([normalized])[0]
        best = int(probs.argmax())
        if float(probs[best]) < MIN_CONFIDENCE:
            return None
        return str(self._pipeline.classes_[best])


@lru_cache(maxsize=1)
def default_detector() -> LanguageDetector:
    return LanguageDetector([e for e in load_examples() if e.split == "train"])


def detect_language(text: str) -> str | None:
    """``pt-BR``, ``es``, ``en``, or ``None`` when the text does not tell."""
    return default_detector().detect(text)
