"""The intent classifier meets its accuracy target and understands typical phrasings."""

from __future__ import annotations

from pathlib import Path

import pytest

from rumbo.assistant.dataset import in_scope, load_examples
from rumbo.assistant.intents import Intent
from rumbo.assistant.language import detect_language
from rumbo.assistant.service import CONFIDENCE_THRESHOLD, default_classifier
from rumbo.shared.i18n import LANGUAGES


def test_data_set_is_large_varied_and_split() -> None:
    examples = load_examples()
    for lang in LANGUAGES:
        rows = [e for e in examples if e.lang == lang and e.intent != "out_of_scope"]
        assert len(rows) >= 110
        test = [e for e in rows if e.split == "test"]
        assert 0.2 <= len(test) / len(rows) <= 0.35
        for intent in Intent:
            if intent is not Intent.UNKNOWN:
                assert any(e.intent == intent for e in test), (lang, intent)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_accuracy_on_the_test_split_is_at_least_90_percent(lang: str) -> None:
    model = default_classifier()
    test = [e for e in in_scope(load_examples(), "test") if e.lang == lang]
    correct = sum(model.predict(e.text).intent == e.intent for e in test)
    assert correct / len(test) >= 0.90


BATTERY: dict[Intent, dict[str, list[str]]] = {
    Intent.WHERE_IS_ORDER: {
        "pt-BR": ["cade meu pedido", "onde esta minha compra?", "meu pedido ja foi enviado?"],
        "es": ["ya salió?", "donde esta mi pedido", "mi paquete ya lo mandaron?"],
        "en": ["where is my order", "has my order shipped?", "where's my parcel"],
    },
    Intent.DELIVERY_DATE: {
        "pt-BR": ["qdo chega", "quando chega meu pacote?", "qual a previsao de entrega"],
        "es": ["cuando llega?", "que dia me llega el pedido", "fecha de entrega"],
        "en": ["when will it arrive", "when will my package be delivered", "delivery date?"],
    },
    Intent.WHY_LATE: {
        "pt-BR": ["pq meu pedido ta atrasado", "por que esta demorando tanto?"],
        "es": ["por que esta retrasado mi pedido", "xq se retraso"],
        "en": ["why is my order delayed", "why is it late?"],
    },
    Intent.DELIVERY_FAILED: {
        "pt-BR": ["o entregador nao veio", "nao recebi meu pedido"],
        "es": ["no me llegó nada", "el repartidor no vino"],
        "en": ["the courier didnt come", "i did not receive my order"],
    },
    Intent.CHANGE_ADDRESS: {
        "pt-BR": ["quero mudar o endereco de entrega"],
        "es": ["quiero cambiar mi direccion"],
        "en": ["can i change the shipping address"],
    },
    Intent.CANCEL_ORDER: {
        "pt-BR": ["quero cancelar a compra"],
        "es": ["quiero cancelar el pedido"],
        "en": ["please cancel my order"],
    },
    Intent.RETURN_EXCHANGE: {
        "pt-BR": ["quero devolver o produto"],
        "es": ["quiero devolver el producto"],
        "en": ["i want to return the product"],
    },
    Intent.CARRIER_TRACKING: {
        "pt-BR": ["qual o codigo de rastreio?"],
        "es": ["cual es la transportadora?"],
        "en": ["what is the tracking number"],
    },
    Intent.HUMAN_AGENT: {
        "pt-BR": ["quero falar com um atendente"],
        "es": ["quiero hablar con una persona"],
        "en": ["i want to speak to a human"],
    },
    Intent.GREETING: {"pt-BR": ["oi, bom dia"], "es": ["hola buenas"], "en": ["hello"]},
    Intent.THANKS: {"pt-BR": ["obrigado!"], "es": ["muchas gracias"], "en": ["thanks a lot"]},
}

CASES = [
    (intent, lang, text)
    for intent, by_lang in BATTERY.items()
    for lang, texts in by_lang.items()
    for text in texts
]


@pytest.mark.parametrize(("intent", "lang", "text"), CASES)
def test_typical_phrasing_is_understood(intent: Intent, lang: str, text: str) -> None:
    prediction = default_classifier().predict(text)
    assert prediction.intent is intent
    assert prediction.confidence >= CONFIDENCE_THRESHOLD


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("cadê meu pedido? já faz uma semana", "pt-BR"),
        ("o entregador nao veio hoje", "pt-BR"),
        ("¿dónde está mi pedido? ya pasó una semana", "es"),
        ("no me llegó nada todavía", "es"),
        ("when will my order arrive?", "en"),
        ("the courier never came today", "en"),
    ],
)
def test_language_is_detected(text: str, lang: str) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize("text", ["", "??", "12345", "👍"])
def test_language_is_unknown_when_the_text_does_not_tell(text: str) -> None:
    assert detect_language(text) is None


def test_bitext_rows_map_onto_our_intents_and_keep_english_above_target(shared_data: Path) -> None:
    from rumbo.assistant.classifier import CombinedClassifier, NgramClassifier
    from rumbo.assistant.dataset import BITEXT_MAP, load_bitext

    path = shared_data / "intents" / "Bitext_Sample_Customer_Support_Training_Dataset.v3.5MB.csv"
    rows = load_bitext(path, per_intent=40)
    assert {r.intent for r in rows} == {i.value for i in BITEXT_MAP.values()}
    examples = load_examples()
    model = CombinedClassifier(NgramClassifier(in_scope(examples, "train") + rows))
    test = [e for e in in_scope(examples, "test") if e.lang == "en"]
    assert sum(model.predict(e.text).intent == e.intent for e in test) / len(test) >= 0.90
