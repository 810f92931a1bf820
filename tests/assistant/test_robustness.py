"""Any text a visitor can type gets a valid answer; nothing raises."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rumbo.assistant import Answer, Intent, answer
from rumbo.assistant.evaluation import SCENARIOS
from rumbo.shared.i18n import LANGUAGES

FACTS = list(SCENARIOS.values())

texts = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(codec=None), max_size=50),
    st.text(alphabet=st.sampled_from("\x00\x07\n\r\t\u200b\u202e\ufeff🙂📦🚚?!¿¡ ")),
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=5), st.integers(1000, 20000)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    question=texts,
    facts=st.sampled_from(FACTS),
    lang=st.one_of(st.none(), st.sampled_from([*LANGUAGES, "pt", "es-AR", "xx", ""])),
    verified=st.booleans(),
)
def test_any_input_returns_a_valid_answer(question: str, facts, lang, verified: bool):  # type: ignore[no-untyped-def]
    reply = answer(question, facts, lang, verified)
    assert isinstance(reply, Answer)
    assert reply.text.strip()
    assert reply.lang in LANGUAGES
    assert 0.0 <= reply.confidence <= 1.0
    assert isinstance(reply.intent, Intent)
    if reply.intent is Intent.UNKNOWN or reply.intent is Intent.HUMAN_AGENT:
        assert reply.handover
    if not verified:
        for pii in (facts.customer_first_name, facts.destination_address):
            assert not pii or pii not in reply.text


def test_a_huge_question_is_answered_quickly() -> None:
    reply = answer("cade meu pedido " * 50_000, FACTS[0])
    assert reply.intent is Intent.WHERE_IS_ORDER
