"""Reader for the Kaggle "Brazilian E-Commerce Public Dataset by Olist" CSV files.

Reads the files exactly as Kaggle ships them (olistbr/brazilian-ecommerce; also in
olist/work-at-olist-data): UTF-8, a header row, ``YYYY-MM-DD HH:MM:SS`` timestamps,
empty cells for missing values. One :class:`~rumbo.eta.history.OrderHistory` per row
of ``olist_orders_dataset.csv``; every other file is optional and every join may miss
(an export cut short, a customer row never written): the order is still produced, with
``None`` where the link is missing.

Distance: with ``olist_geolocation_dataset.csv`` present, between the mean coordinates
of the seller's and the customer's zip-code prefixes; without it, between the two
states' capitals (and unknown within one state) — see :mod:`rumbo.eta.brazil`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rumbo.eta.brazil import capital_distance_km, haversine_km
from rumbo.eta.history import OrderHistory
from rumbo.events.status import Status

ORDERS = "olist_orders_dataset.csv"
ITEMS = "olist_order_items_dataset.csv"
CUSTOMERS = "olist_customers_dataset.csv"
SELLERS = "olist_sellers_dataset.csv"
GEOLOCATION = "olist_geolocation_dataset.csv"

# Olist's order_status values onto Rumbo's canonical statuses. "invoiced" and
# "processing" mean the seller is preparing the parcel; "unavailable" means the
# product could not be supplied and the order was cancelled.
STATUS_MAP: dict[str, Status] = {
    "created": Status.PENDING,
    "approved": Status.PAYMENT_CONFIRMED,
    "invoiced": Status.PREPARING,
    "processing": Status.PREPARING,
    "shipped": Status.SHIPPED,
    "delivered": Status.DELIVERED,
    "canceled": Status.CANCELLED,
    "unavailable": Status.CANCELLED,
}


@dataclass(slots=True)
class _Items:
    seller_ids: list[str] = field(default_factory=list)
    price: float = 0.0
    freight: float = 0.0
    count: int = 0


def _time(text: str) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _rows(path: Path) -> Iterator[dict[str, str]]:
    # utf-8-sig: some re-exports of these files carry a byte-order mark.
    with path.open(newline="", encoding="utf-8-sig") as handle:
        yield from csv.DictReader(handle)


def _read_items(path: Path) -> dict[str, _Items]:
    items: dict[str, _Items] = {}
    if not path.exists():
        return items
    for row in _rows(path):
        entry = items.setdefault(row["order_id"], _Items())
        if row["seller_id"] not in entry.seller_ids:
            entry.seller_ids.append(row["seller_id"])
        entry.price += float(row["price"] or 0.0)
        entry.freight += float(row["freight_value"] or 0.0)
        entry.count += 1
    return items


def _read_keyed(path: Path, key: str) -> dict[str, dict[str, str]]:
    return {row[key]: row for row in _rows(path)} if path.exists() else {}


def _read_zip_coordinates(path: Path) -> dict[str, tuple[float, float]]:
    """Mean latitude/longitude per 5-digit zip-code prefix (the file has ~1M rows)."""
    sums: dict[str, list[float]] = {}
    if not path.exists():
        return {}
    for row in _rows(path):
        acc = sums.setdefault(row["geolocation_zip_code_prefix"].zfill(5), [0.0, 0.0, 0.0])
        acc[0] += float(row["geolocation_lat"])
        acc[1] += float(row["geolocation_lng"])
        acc[2] += 1.0
    return {z: (a[0] / a[2], a[1] / a[2]) for z, a in sums.items()}


def read_olist(folder: Path) -> Iterator[OrderHistory]:
    """Every order in ``folder``'s Olist CSV files, in file order.

    The side files (items, customers, sellers, geolocation) are loaded first — they
    are small or aggregated per key — and the orders file is then streamed.
    """
    items = _read_items(folder / ITEMS)
    customers = _read_keyed(folder / CUSTOMERS, "customer_id")
    sellers = _read_keyed(folder / SELLERS, "seller_id")
    zips = _read_zip_coordinates(folder / GEOLOCATION)
    for row in _rows(folder / ORDERS):
        purchased = _time(row["order_purchase_timestamp"])
        if purchased is None:  # never happens in Kaggle's file; an order needs a start
            continue
        its = items.get(row["order_id"])
        customer = customers.get(row["customer_id"])
        seller = sellers.get(its.seller_ids[0]) if its and its.seller_ids else None
        seller_state = seller["seller_state"] if seller else None
        seller_zip = seller["seller_zip_code_prefix"].zfill(5) if seller else None
        customer_state = customer["customer_state"] if customer else None
        customer_zip = customer["customer_zip_code_prefix"].zfill(5) if customer else None
        distance: float | None = None
        a = zips.get(seller_zip) if seller_zip else None
        b = zips.get(customer_zip) if customer_zip else None
        if a is not None and b is not None:
            distance = round(haversine_km(a[0], a[1], b[0], b[1]), 1)
        else:
            distance = capital_distance_km(seller_state, customer_state)
        source_status = row["order_status"]
        yield OrderHistory(
            order_id=row["order_id"],
            purchased_at=purchased,
            approved_at=_time(row["order_approved_at"]),
            shipped_at=_time(row["order_delivered_carrier_date"]),
            delivered_at=_time(row["order_delivered_customer_date"]),
            promised_at=_time(row["order_estimated_delivery_date"]),
            status=STATUS_MAP.get(source_status, Status.EXCEPTION),
            source_status=source_status,
            seller_ids=tuple(its.seller_ids) if its else (),
            seller_state=seller_state,
            customer_state=customer_state,
            customer_city=customer["customer_city"] if customer else None,
            customer_zip_prefix=customer_zip,
            carrier=None,  # Olist does not say which carrier took the parcel
            freight=round(its.freight, 2) if its else None,
            price=round(its.price, 2) if its else None,
            item_count=its.count if its else 0,
            distance_km=distance,
            country="BR",
        )
