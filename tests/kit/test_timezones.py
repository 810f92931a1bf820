from __future__ import annotations

import pytest

from rumbo.kit.timezones import zone_for, zone_name_for, zone_name_of


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


def test_every_market_and_the_codes_stores_send() -> None:
    assert zone_name_for("br", "AM") == "America/Manaus"
    assert zone_name_for("ES", "ES-CN") == "Atlantic/Canary"
    assert zone_name_for("US", "CA") == "America/Los_Angeles"
    assert zone_name_for("MX", "QR") == zone_name_for("MX", "ROO") == "America/Cancun"
    assert zone_name_for("CL", "12") == "America/Punta_Arenas"
    assert zone_name_for("PE") == "America/Lima"
    assert zone_name_for("UY") == "America/Montevideo"
    assert zone_name_of({"city": "Lisboa", "country": "PT"}) == "Europe/Lisbon"
    assert zone_name_of(None) == "UTC"
