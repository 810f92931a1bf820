"""Intent classifiers: a character n-gram model (the one Rumbo uses) and a rules baseline.

Both take raw text and return a :class:`Prediction` with a probability per known intent;
:func:`rumbo.assistant.service.answer` turns a low top probability into ``Intent.UNKNOWN``.

Why character n-grams: shoppers misspell ("qdo", "wen", "cancelalo"), drop accents and
glue words; sub-word features still match most of the word, where a word vocabulary
or a keyword list sees a stranger. Word uni/bi-grams are added beside them because some
intents hinge on a whole word ("ya", "pq", "eta"). Logistic regression gives
probabilities directly; the comparison with a rules + rapidfuzz baseline and with a
calibrated linear SVM is in :mod:`rumbo.assistant.evaluation` and its docstring.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from sklearn.calibration import CalibratedClassifierCV  # type: ignore[import-untyped]
from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.pipeline import FeatureUnion, Pipeline  # type: ignore[import-untyped]
from sklearn.svm import LinearSVC  # type: ignore[import-untyped]

from rumbo.assistant.dataset import Example
from rumbo.assistant.intents import KNOWN_INTENTS, Intent
from rumbo.assistant.rules import rule_scores
from rumbo.assistant.text import normalize


@dataclass(frozen=True, slots=True)
class Prediction:
    intent: Intent
    confidence: float  # probability of ``intent``, 0..1
    probabilities: tuple[tuple[Intent, float], ...]  # every known intent, best first


class IntentClassifier(Protocol):
    def predict(self, text: str) -> Prediction: ...


def _prediction(probs: NDArray[np.float64]) -> Prediction:
    order = np.argsort(-probs, kind="stable")
    ranked = tuple((KNOWN_INTENTS[i], float(probs[i])) for i in order)
    return Prediction(ranked[0][0], ranked[0][1], ranked)


def _features() -> FeatureUnion:
    return FeatureUnion(
        [
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True)),
            (
                "words",
                TfidfVectorizer(
                    analyzer="word",
                    ngram_range=(1, 2),
                    sublinear_tf=True,
                    token_pattern=r"(?u)\b\w+\b|\?",
                ),
            ),
        ]
    )


class NgramClassifier:
    """TF-IDF over character and word n-grams of the normalised text, then a linear model."""

    def __init__(self, examples: Sequence[Example], model: str = "logreg") -> None:
        texts = [normalize(e.text) for e in examples]
        labels = [KNOWN_INTENTS.index(Intent(e.intent)) for e in examples]
        estimator: object
        if model == "logreg":
            # C well above the default: the data set is small and clean, and a weakly
            # regularised model keeps its probabilities from all sitting near 1/11.
            estimator = LogisticRegression(C=10.0, max_iter=2000)
        elif model == "svm":
            # Sigmoid (Platt) calibration on 3 folds turns SVM margins into probabilities.
            estimator = CalibratedClassifierCV(LinearSVC(C=1.0), method="sigmoid", cv=3)
        else:
            raise ValueError(f"unknown model {model!r}")
        self._pipeline = Pipeline([("features", _features()), ("model", estimator)])
        self._pipeline.fit(texts, labels)
        # Classes seen in training, mapped back onto KNOWN_INTENTS positions.
        self._classes: list[int] = [int(c) for c in self._pipeline.classes_]

    def probabilities(self, texts: Iterable[str]) -> NDArray[np.float64]:
        raw = self._pipeline.predict_proba([normalize(t) for t in texts])
        full = np.zeros((raw.shape[0], len(KNOWN_INTENTS)))
        full[:, self._classes] = raw
        return full

    def predict(self, text: str) -> Prediction:
        return _prediction(self.probabilities([text])[0])


class RuleClassifier:
    """Keyword lists per intent matched with rapidfuzz; the baseline to beat."""

    def predict(self, text: str) -> Prediction:
        return _prediction(rule_probabilities(text))


def rule_probabilities(text: str) -> NDArray[np.float64]:
    scores = np.array([rule_scores(normalize(text)).get(i, 0.0) for i in KNOWN_INTENTS])
    # One pseudo-count of "none of these" spread evenly, so a single weak hit is not
    # reported as certainty and no hit at all gives a flat, low-confidence distribution.
    smoothed = scores + 1.0 / len(KNOWN_INTENTS)
    return np.asarray(smoothed / smoothed.sum(), dtype=np.float64)


class CombinedClassifier:
    """The n-gram model's probabilities averaged with the rules' (a product-of-experts lite)."""

    def __init__(self, model: NgramClassifier, rules_weight: float = 0.4) -> None:
        self._model = model
        self._weight = rules_weight

    def predict(self, text: str) -> Prediction:
        mixed = (1 - self._weight) * self._model.probabilities([text])[0]
        mixed = mixed + self._weight * rule_probabilities(text)
        return _prediction(mixed)
