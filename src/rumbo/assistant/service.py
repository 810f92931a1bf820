"""The shopper assistant's entry point: a question and an order's facts in, an Answer out."""

from __future__ import annotations

import threading

from rumbo.assistant.classifier import CombinedClassifier, IntentClassifier, NgramClassifier
from rumbo.assistant.compose import compose
from rumbo.assistant.dataset import in_scope, load_examples
from rumbo.assistant.facts import Answer, OrderFacts
from rumbo.assistant.intents import Intent
from rumbo.assistant.language import detect_language
from rumbo.assistant.text import normalize
from rumbo.shared.i18n import DEFAULT_LANGUAGE, normalize_language

# Below this probability the assistant says it is not sure and hands over to a person.
# Chosen from the figures in rumbo.assistant.evaluation's docstring: at 0.35, 85 % of the
# in-scope test questions are answered (99 % of those correctly) and 92 % of the
# out-of-scope ones are handed over; a wrong answer costs more than a handover.
CONFIDENCE_THRESHOLD = 0.35


_classifier: IntentClassifier | None = None
_training = threading.Lock()


def default_classifier() -> IntentClassifier:
    """The production classifier, trained once per process on the shipped train split
    (importing scikit-learn and training take seconds); a caller arriving while it is
    being trained waits for that training rather than starting another."""
    global _classifier
    if _classifier is None:
        with _training:
            if _classifier is None:
                _classifier = CombinedClassifier(
                    NgramClassifier(in_scope(load_examples(), "train"))
                )
    return _classifier


def warm_up() -> threading.Thread:
    """Train the classifier on a background thread, so the process's first question
    does not wait for it."""
    thread = threading.Thread(
        target=default_classifier, name="rumbo-assistant-warm-up", daemon=True
    )
    thread.start()
    return thread


def reply_language(question: str, lang: str | None, facts: OrderFacts) -> str:
    """The caller's language if given, else the question's, else the shopper's locale."""
    return (
        normalize_language(lang)
        or detect_language(question)
        or normalize_language(facts.customer_locale)
        or DEFAULT_LANGUAGE
    )


def answer(
    question: str, facts: OrderFacts, lang: str | None = None, verified: bool = False
) -> Answer:
    """Answer ``question`` about the order described by ``facts``.

    ``lang`` ("pt-BR", "es", "en" or a loose tag like "pt") forces the reply's language;
    ``verified`` says the visitor proved they own the order, the only case in which the
    shopper's name and address may appear. Never raises on any string input.
    """
    language = reply_language(question, lang, facts)
    if not normalize(question):
        return compose(Intent.UNKNOWN, 0.0, facts, language, verified)
    prediction = default_classifier().predict(question)
    intent = prediction.intent if prediction.confidence >= CONFIDENCE_THRESHOLD else Intent.UNKNOWN
    return compose(intent, prediction.confidence, facts, language, verified)
