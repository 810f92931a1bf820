from __future__ import annotations

import pytest

from rumbo.web.timezones import zone_for, zone_name_for


@pytest.mark.parametrize(
    ("country", "state", "zone"),
    [
        ("BR", "SP", "America/Sao_Paulo"),
        ("BR", "AM", "America/Manaus"),
        ("BR", "BR-CE", "America/Fortaleza"),
        ("BR", None, "America/Sao_Paulo"),
        ("ES", "Madrid", "Europe/Madrid"),
        ("ES", "Canarias", "Atlantic/Canary"),
        ("ES", "Santa Cruz de Tenerife", "Atlantic/Canary"),
        ("MX", "ROO", "America/Cancun"),
        ("MX", "Jalisco", "America/Mexico_City"),
        ("US", "CA", "America/Los_Angeles"),
        ("PT", "Açores", "Atlantic/Azores"),
        ("AR", None, "America/Argentina/Buenos_Aires"),
        ("CO", None, "America/Bogota"),
        ("CL", None, "America/Santiago"),
        ("FR", None, "UTC"),
        (None, None, "UTC"),
    ],
)
def test_destination_gives_its_time_zone(country: str | None, state: str | None, zone: str) -> None:
    assert zone_name_for(country, state) == zone
    assert zone_for(country, state).key == zone
