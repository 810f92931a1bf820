"""The evaluation: no answer states a fact the order does not have; the table prints."""

from __future__ import annotations

from dataclasses import replace

from rumbo.assistant.compose import compose
from rumbo.assistant.dataset import load_examples
from rumbo.assistant.evaluation import (
    SCENARIOS,
    ApproachFigures,
    Report,
    format_report,
    unsupported_statements,
    wrong_facts_check,
)
from rumbo.assistant.intents import Intent
from rumbo.assistant.service import default_classifier


def test_no_test_question_gets_an_answer_with_a_wrong_fact() -> None:
    model = default_classifier()
    test = [e for e in load_examples() if e.split == "test"]
    checked, problems = wrong_facts_check([(e, model.predict(e.text)) for e in test])
    assert checked == len(test) * len(SCENARIOS) * 2
    assert problems == []


def test_the_check_catches_an_invented_date_and_a_foreign_carrier() -> None:
    facts = SCENARIOS["no_carrier_yet"]
    honest = compose(Intent.DELIVERY_DATE, 0.9, facts, "en", verified=False)
    assert unsupported_statements(honest, facts, verified=False) == []
    invented = replace(honest, text=honest.text + " It arrives on November 30, 2026 with DHL.")
    problems = unsupported_statements(invented, facts, verified=False)
    assert any("number" in p for p in problems)
    assert any("DHL" in p for p in problems)
    claimed = replace(honest, facts_used=frozenset({"prediction.estimated"}))
    assert unsupported_statements(claimed, facts, verified=False)


def test_the_check_catches_personal_data_when_unverified() -> None:
    facts = SCENARIOS["delivered"]
    leaked = compose(Intent.GREETING, 0.9, facts, "pt-BR", verified=True)
    assert unsupported_statements(leaked, facts, verified=False)


def test_report_prints_as_a_table() -> None:
    figures = ApproachFigures("model", {"pt-BR": 1.0, "es": 0.9, "en": 0.95}, 0.95, 0.5)
    report = Report(
        approaches=(figures,),
        chosen="model",
        test_size=3,
        accuracy_by_lang=figures.accuracy_by_lang,
        accuracy_by_intent={"greeting": {"pt-BR": 1.0, "es": 1.0, "en": 1.0}},
        overall=0.95,
        confusions=(("why_late", "delivery_date", 2),),
        threshold=0.35,
        answered_share=0.9,
        answered_accuracy=0.99,
        out_of_scope_handover=0.9,
        answers_checked=10,
    )
    table = format_report(report)
    assert "model *" in table
    assert "why_late -> delivery_date: 2" in table
    assert "Wrong facts: 0 in 10" in table
