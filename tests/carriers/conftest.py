"""Readers for the real carrier data in ../shared/data (never copied into the repository)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml


@pytest.fixture(scope="session")
def correios_dir(shared_data: Path) -> Path:
    return shared_data / "carriers" / "correios"


@pytest.fixture(scope="session")
def sro_responses(correios_dir: Path) -> dict[str, bytes]:
    """Every recorded SRO response body, by cassette name, as the bytes Correios sent."""
    bodies = {}
    for cassette in sorted((correios_dir / "recorded").glob("*.yaml")):
        document = yaml.safe_load(cassette.read_text(encoding="utf-8"))
        for n, interaction in enumerate(document["interactions"]):
            bodies[f"{cassette.stem}#{n}"] = interaction["response"]["body"]["string"].encode()
    return bodies
