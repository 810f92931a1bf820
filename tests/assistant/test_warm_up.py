"""The classifier is trained once per process, ahead of the first question when warmed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from rumbo.assistant import service


def test_warm_up_trains_the_classifier_the_questions_then_use() -> None:
    thread = service.warm_up()
    # Questions arriving during the warm-up wait for it instead of training again.
    with ThreadPoolExecutor(4) as pool:
        models = list(pool.map(lambda _: service.default_classifier(), range(4)))
    thread.join(timeout=300)

    assert not thread.is_alive()
    assert all(model is service.default_classifier() for model in models)
    assert service.default_classifier().predict("onde está meu pedido?").confidence > 0
