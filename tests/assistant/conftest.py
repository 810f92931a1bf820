"""Factories for the assistant's tests: the evaluation's synthetic orders, by name."""

from __future__ import annotations

import pytest

from rumbo.assistant.evaluation import SCENARIOS
from rumbo.assistant.facts import OrderFacts


@pytest.fixture(params=sorted(SCENARIOS))
def scenario(request: pytest.FixtureRequest) -> OrderFacts:
    return SCENARIOS[request.param]
