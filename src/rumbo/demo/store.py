"""A simulated store feeding Rumbo realistic traffic through the public API.

Each order gets a plan: a journey of a few days (payment, warehouse, carrier scans
across cities, a courier's last mile) with the delays real stores see, sometimes a
failed attempt, an address problem, a cancellation or a split parcel. The journey
is backdated so every ``occurred_at`` is in the past, then released at a
compressed pace, with duplicates and late arrivals mixed in — exactly the mess
real integrations send. Everything goes over HTTP with the store's API key.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

# Real places along real lanes (state capitals and large cities), per country.
ROUTES: dict[str, dict[str, Any]] = {
    "BR": {
        "locale": "pt-BR",
        "origin": ("Cajamar", "SP", "07750-000"),
        "hubs": [
            ("São Paulo", "SP"),
            ("Curitiba", "PR"),
            ("Belo Horizonte", "MG"),
            ("Rio de Janeiro", "RJ"),
        ],
        "cities": [
            ("Porto Alegre", "RS", "90010-000"),
            ("Salvador", "BA", "40020-000"),
            ("Recife", "PE", "50030-000"),
            ("Fortaleza", "CE", "60060-000"),
            ("Campinas", "SP", "13010-000"),
            ("Florianópolis", "SC", "88010-000"),
            ("Goiânia", "GO", "74003-010"),
            ("Belém", "PA", "66010-000"),
        ],
        "carriers": [
            ("correios", "SEDEX"),
            ("correios", "PAC"),
            ("jadlog", ".Package"),
            ("loggi", "Express"),
        ],
        "names": [
            "Ana Souza",
            "João Pereira",
            "Mariana Costa",
            "Lucas Oliveira",
            "Beatriz Lima",
            "Rafael Santos",
        ],
        "products": [
            ("Camiseta básica", 59.9),
            ("Tênis de corrida", 349.0),
            ("Fone sem fio", 199.9),
            ("Mochila", 149.5),
        ],
    },
    "ES": {
        "locale": "es",
        "origin": ("Getafe", "MD", "28906"),
        "hubs": [("Madrid", "MD"), ("Zaragoza", "Z"), ("Valencia", "V")],
        "cities": [
            ("Barcelona", "B", "08001"),
            ("Sevilla", "SE", "41001"),
            ("Bilbao", "BI", "48001"),
            ("Málaga", "MA", "29001"),
            ("Valencia", "V", "46001"),
        ],
        "carriers": [("seur", "24"), ("correos_es", "Paq Premium"), ("ctt_express", "14h")],
        "names": ["Lucía García", "Hugo Fernández", "Carmen López", "Pablo Martín", "Sofía Ruiz"],
        "products": [
            ("Camiseta", 19.9),
            ("Zapatillas", 89.0),
            ("Auriculares", 59.9),
            ("Mochila", 39.5),
        ],
    },
    "MX": {
        "locale": "es",
        "origin": ("Tultitlán", "MEX", "54900"),
        "hubs": [("Ciudad de México", "CDMX"), ("Querétaro", "QRO")],
        "cities": [
            ("Guadalajara", "JAL", "44100"),
            ("Monterrey", "NL", "64000"),
            ("Puebla", "PUE", "72000"),
        ],
        "carriers": [("estafeta", "Día Siguiente"), ("dhl", "Express")],
        "names": ["Valeria Hernández", "Diego Ramírez", "Fernanda Torres"],
        "products": [("Playera", 299.0), ("Tenis", 1299.0)],
    },
    "US": {
        "locale": "en",
        "origin": ("Reno", "NV", "89501"),
        "hubs": [("Salt Lake City", "UT"), ("Denver", "CO"), ("Chicago", "IL")],
        "cities": [
            ("Austin", "TX", "78701"),
            ("Boston", "MA", "02108"),
            ("Seattle", "WA", "98101"),
        ],
        "carriers": [("usps", "Priority Mail"), ("ups", "Ground")],
        "names": ["Emily Carter", "Michael Brooks", "Olivia Reed"],
        "products": [("T-shirt", 24.0), ("Running shoes", 120.0)],
    },
}
# What the store's payment provider, warehouse and carriers write, in the store's
# language: a Brazilian carrier does not say "Delivered".
DESCRIPTIONS: dict[str, dict[str, str]] = {
    "pt-BR": {
        "paid": "Pagamento aprovado",
        "cancelled": "Cancelado a pedido do cliente",
        "packing": "Separação e embalagem",
        "handed": "Entregue à transportadora {carrier}",
        "transit": "Objeto em trânsito",
        "address": "Endereço incompleto: a transportadora está verificando",
        "out": "Objeto saiu para entrega ao destinatário",
        "nobody": "Destinatário ausente",
        "out_again": "Objeto saiu para entrega (segunda tentativa)",
        "delivered": "Objeto entregue ao destinatário",
    },
    "es": {
        "paid": "Pago aprobado",
        "cancelled": "Cancelado a petición del cliente",
        "packing": "Preparación y embalaje",
        "handed": "Entregado a {carrier}",
        "transit": "Envío en tránsito",
        "address": "Dirección incompleta: el transportista la está revisando",
        "out": "En reparto al destinatario",
        "nobody": "Destinatario ausente",
        "out_again": "En reparto (segundo intento)",
        "delivered": "Entregado al destinatario",
    },
    "en": {
        "paid": "Payment approved",
        "cancelled": "Cancelled at the shopper's request",
        "packing": "Picking and packing",
        "handed": "Handed to {carrier}",
        "transit": "Arrived at the sorting facility",
        "address": "Address incomplete: the carrier is checking it",
        "out": "With the courier for delivery",
        "nobody": "Nobody at the address",
        "out_again": "With the courier (second attempt)",
        "delivered": "Left with the recipient",
    },
}

COUNTRY_WEIGHTS = {"BR": 0.6, "ES": 0.2, "MX": 0.1, "US": 0.1}


@dataclass(order=True)
class Release:
    """Something the store will send at ``at`` (real time)."""

    at: float
    kind: str = field(compare=False)  # "shipment" | "event"
    body: dict[str, Any] = field(compare=False)


@dataclass
class OrderPlan:
    external_id: str
    create: dict[str, Any]
    releases: list[Release]


def _tracking_number(rng: random.Random, carrier: str) -> str:
    if carrier == "correios":  # S10 format: 2 letters, 8 digits + check digit, country
        return (
            f"{rng.choice(['PN', 'QB', 'OJ', 'LB'])}{rng.randrange(10**8):08d}{rng.randrange(10)}BR"
        )
    return f"{carrier[:3].upper()}{rng.randrange(10**11):011d}"


def plan_order(
    rng: random.Random, seq: int, now: datetime, real_now: float, speed: float, run: str = ""
) -> OrderPlan:
    """A whole order journey; ``speed`` simulated seconds pass per real second. ``run``
    tells this start's orders apart from an earlier start's in the same store."""
    country = rng.choices(list(COUNTRY_WEIGHTS), weights=list(COUNTRY_WEIGHTS.values()))[0]
    route = ROUTES[country]
    city, state, postal = rng.choice(route["cities"])
    name = rng.choice(route["names"])
    carrier, service = rng.choice(route["carriers"])
    fate = rng.random()
    said = DESCRIPTIONS[route["locale"]]
    # The journey, as offsets from the purchase.
    steps: list[tuple[float, str, str, tuple[str, str] | None, str]] = []
    t = 0.0
    hour = 3600.0
    t += rng.uniform(0.02, 1.5) * hour
    steps.append((t, "payment", "payment_confirmed", None, said["paid"]))
    if fate < 0.03:
        t += rng.uniform(0.5, 6) * hour
        steps.append((t, "store", "cancelled", None, said["cancelled"]))
        total = t
    else:
        t += rng.uniform(2, 30) * hour
        origin = route["origin"]
        steps.append((t, "warehouse", "preparing", (origin[0], origin[1]), said["packing"]))
        t += rng.uniform(1, 8) * hour
        handed = said["handed"].format(carrier=carrier)
        steps.append((t, "warehouse", "shipped", (origin[0], origin[1]), handed))
        for hub in rng.sample(route["hubs"], k=min(len(route["hubs"]), rng.randint(1, 3))):
            t += rng.uniform(6, 30) * hour
            steps.append((t, "carrier", "in_transit", hub, said["transit"]))
        if fate < 0.06:
            t += rng.uniform(4, 24) * hour
            steps.append(
                (
                    t,
                    "carrier",
                    "exception",
                    (city, state),
                    said["address"],
                )
            )
        t += rng.uniform(8, 30) * hour
        steps.append((t, "carrier", "out_for_delivery", (city, state), said["out"]))
        if fate < 0.15:
            t += rng.uniform(2, 8) * hour
            steps.append((t, "carrier", "delivery_failed", (city, state), said["nobody"]))
            t += rng.uniform(16, 30) * hour
            steps.append(
                (
                    t,
                    "carrier",
                    "out_for_delivery",
                    (city, state),
                    said["out_again"],
                )
            )
        t += rng.uniform(1, 7) * hour
        steps.append((t, "carrier", "delivered", (city, state), said["delivered"]))
        total = t
    placed = now - timedelta(seconds=total)
    external_id = f"DEMO-{run}-{country}-{seq:06d}" if run else f"DEMO-{country}-{seq:06d}"
    tracking_number = _tracking_number(rng, carrier)
    split = rng.random() < 0.1 and fate >= 0.03
    second_number = _tracking_number(rng, carrier) if split else None
    product, price = rng.choice(route["products"])
    create = {
        "external_id": external_id,
        "customer": {
            "name": name,
            "email": f"{name.split()[0].lower()}.{seq}@example.com",
            "locale": route["locale"],
            "postal_code": postal,
        },
        "destination": {
            "line1": f"Rua {rng.randint(1, 999)}"
            if country == "BR"
            else f"Calle {rng.randint(1, 99)}",
            "city": city,
            "state": state,
            "postal_code": postal,
            "country": country,
        },
        "origin": {
            "city": route["origin"][0],
            "state": route["origin"][1],
            "postal_code": route["origin"][2],
            "country": country,
        },
        "items": [
            {
                "sku": f"SKU-{rng.randint(100, 999)}",
                "name": product,
                "quantity": rng.randint(1, 3),
                "unit_price": str(price),
            }
        ],
        "promised_delivery_date": (placed + timedelta(days=rng.randint(6, 12))).date().isoformat(),
        "placed_at": placed.isoformat(),
    }
    releases: list[Release] = []
    for n, (offset, source, status, place, text) in enumerate(steps):
        at = real_now + offset / speed
        occurred = placed + timedelta(seconds=offset)
        parcels = [tracking_number] + (
            [second_number] if second_number and source == "carrier" else []
        )
        for parcel_no, number in enumerate(parcels):
            body: dict[str, Any] = {
                "event_id": f"{external_id}-{n}-{parcel_no}",
                "source": source,
                "status": status,
                "occurred_at": min(occurred + timedelta(minutes=37 * parcel_no), now).isoformat(),
                "description": text,
            }
            if source == "carrier":
                body |= {"carrier": carrier, "tracking_number": number, "external_id": external_id}
            else:
                body["external_id"] = external_id
            if place:
                body["location"] = {"city": place[0], "state": place[1], "country": country}
            # Real integrations are late and repeat themselves.
            delay = rng.expovariate(1 / 20) if rng.random() < 0.1 else 0.0
            releases.append(Release(at + delay, "event", body))
            if rng.random() < 0.05:
                releases.append(Release(at + rng.uniform(1, 30), "event", dict(body)))
        if status == "shipped":
            releases.append(
                Release(
                    at - 0.001,
                    "shipment",
                    {"carrier": carrier, "tracking_number": tracking_number, "service": service},
                )
            )
            if second_number:
                releases.append(
                    Release(
                        at,
                        "shipment",
                        {"carrier": carrier, "tracking_number": second_number, "service": service},
                    )
                )
    return OrderPlan(external_id, create, sorted(releases))


class HttpClient(Protocol):
    def post(self, url: str, *, json: Any, headers: dict[str, str]) -> Any: ...


def run_stamp() -> str:
    """A label for one start of the demo: the time in base 36 (starts sort in order)
    and four random hex digits (two starts in one second still differ)."""
    n, digits = int(time.time()), ""
    while n:
        n, d = divmod(n, 36)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[d] + digits
    return digits + secrets.token_hex(2).upper()


@dataclass
class DemoStore:
    """Runs plans against a Rumbo server; ``tick()`` does what is due now.

    Each start has its own ``run_label``: the store's external ids and the carriers' tracking
    numbers of a restarted demo never repeat those of the starts before it, so a second
    start continues the same store instead of having every order refused as a duplicate.
    """

    client: HttpClient
    api_key: str
    seed: int = 7
    run_label: str = field(default_factory=run_stamp)
    speed: float = 3600.0  # one simulated hour per real second
    orders_per_minute: float = 20.0
    rng: random.Random = field(init=False)
    pending: list[tuple[Release, str]] = field(default_factory=list)
    order_ids: dict[str, int] = field(default_factory=dict)
    tracking_codes: list[str] = field(default_factory=list)
    seq: int = 0
    sent_events: int = 0
    _next_order_at: float = 0.0

    def __post_init__(self) -> None:
        self.rng = random.Random(f"{self.seed}:{self.run_label}")

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def place_order(self, now: datetime, real_now: float, progress: float = 0.0) -> None:
        """Create an order; with ``progress`` > 0 part of its journey already happened."""
        self.seq += 1
        plan = plan_order(self.rng, self.seq, now, real_now, self.speed, self.run_label)
        response = self.client.post("/api/v1/orders", json=plan.create, headers=self.headers)
        if response.status_code not in (200, 201):
            return
        data = response.json()
        self.order_ids[plan.external_id] = data["id"]
        self.tracking_codes.append(data["tracking_code"])
        if progress > 0 and plan.releases:
            span = plan.releases[-1].at - real_now
            shift = span * progress
            for release in plan.releases:
                release.at -= shift
        self.pending.extend((release, plan.external_id) for release in plan.releases)
        self.pending.sort(key=lambda pair: pair[0].at)

    def seed_orders(self, count: int, now: datetime, real_now: float) -> None:
        """Orders at every stage, so the first page a person opens has a story."""
        for i in range(count):
            self.place_order(now, real_now, progress=(i + 1) / (count + 1))
        self.tick(real_now)
        self.ask_questions()

    def ask_questions(self) -> None:
        """Shoppers ask the assistant through the real endpoint: answered conversations,
        and one that asks for a person, so the console has an inquiry to show."""
        conversations = (
            ("cadê meu pedido?",),
            ("¿cuándo llega mi pedido?", "quiero hablar con una persona"),
            ("where is my order?", "thanks!"),
        )
        for code, questions in zip(self.tracking_codes, conversations, strict=False):
            conversation_id = None
            for question in questions:
                body: dict[str, Any] = {"question": question}
                if conversation_id is not None:
                    body["conversation_id"] = conversation_id
                response = self.client.post(f"/api/v1/track/{code}/ask", json=body, headers={})
                if response.status_code != 200:
                    break
                conversation_id = response.json()["conversation_id"]

    def tick(self, real_now: float, now: datetime | None = None) -> int:
        now = now or datetime.now(UTC)
        if self.orders_per_minute > 0 and real_now >= self._next_order_at:
            self.place_order(now, real_now)
            self._next_order_at = real_now + self.rng.expovariate(self.orders_per_minute / 60)
        due: list[dict[str, Any]] = []
        while self.pending and self.pending[0][0].at <= real_now:
            release, external_id = self.pending.pop(0)
            if release.kind == "shipment":
                order_id = self.order_ids.get(external_id)
                if order_id is not None:
                    self.client.post(
                        f"/api/v1/orders/{order_id}/shipments",
                        json=release.body,
                        headers=self.headers,
                    )
            else:
                due.append(release.body)
        for start in range(0, len(due), 500):
            self.client.post("/api/v1/events", json=due[start : start + 500], headers=self.headers)
        self.sent_events += len(due)
        return len(due)

    def run(self, stop: threading.Event, interval: float = 0.5) -> None:
        while not stop.is_set():
            with contextlib.suppress(Exception):  # a server restart must not kill the demo
                self.tick(time.monotonic())
            stop.wait(interval)
