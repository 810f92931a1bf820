"""WhatsApp status callbacks come repeated and in any order; what they leave is the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from rumbo.notifications.channel_settings import is_stop, merge_receipt

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
receipts = st.lists(
    st.tuples(
        st.sampled_from(["sent", "delivered", "read", "failed"]),
        st.integers(min_value=0, max_value=10_000).map(lambda s: T0 + timedelta(seconds=s)),
    ),
    max_size=12,
)


def fold(items: list[tuple[str, datetime]]) -> tuple[datetime | None, datetime | None]:
    delivered: datetime | None = None
    read: datetime | None = None
    for state, at in items:
        delivered, read = merge_receipt(delivered, read, state, at)
    return delivered, read


@given(receipts, st.randoms(use_true_random=False))
def test_any_order_and_any_repeat_give_the_same_times(
    items: list[tuple[str, datetime]], rnd: object
) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert fold(shuffled + items[:3]) == fold(items)
    delivered, read = fold(items)
    reads = [at for state, at in items if state == "read"]
    assert read == (min(reads) if reads else None)
    seen = [at for state, at in items if state in ("delivered", "read")]
    assert delivered == (min(seen) if seen else None)
    if read is not None:
        assert delivered is not None
        assert delivered <= read


@given(st.sampled_from(["SAIR", "PARAR", "STOP", "BAJA"]), st.text(min_size=1, max_size=20))
def test_an_opt_out_word_inside_a_sentence_is_not_an_opt_out(word: str, more: str) -> None:
    if any(c.isalnum() for c in more):
        assert not is_stop(f"{word} {more}x")
        assert not is_stop(f"x{more} {word}")


def test_opt_out_words_in_every_language_and_case() -> None:
    for text in ["SAIR", "sair", "Parar!", "STOP", "stop.", "baja", "¡Baja!"]:
        assert is_stop(text), text
    for text in ["quero sair do grupo", "stop it", "", "ok", "bajar"]:
        assert not is_stop(text), text
