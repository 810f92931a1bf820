"""The Olist reader on the real orders (read in place from the shared data folder)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rumbo.eta.brazil import capital_distance_km
from rumbo.eta.olist import read_olist
from rumbo.events.status import Status


def _sample(shared_data: Path) -> Path:
    return shared_data / "olist"


def test_reads_every_order_of_the_sample(shared_data: Path) -> None:
    orders = list(read_olist(_sample(shared_data)))
    assert len(orders) == 4071
    delivered = [o for o in orders if o.source_status == "delivered" and o.delivered_at]
    assert len(delivered) == 3964
    assert Counter(o.status for o in orders)[Status.CANCELLED] == 20 + 18  # + unavailable


def test_joins_are_complete_and_missing_items_leave_none(shared_data: Path) -> None:
    orders = list(read_olist(_sample(shared_data)))
    # Every order has its customer; all but the 26 unavailable/cancelled ones have items.
    assert sum(1 for o in orders if o.customer_state and o.customer_zip_prefix) == 4071
    with_items = [o for o in orders if o.item_count]
    assert len(with_items) == 4045
    assert sum(1 for o in orders if o.lane) == 4045
    without = next(o for o in orders if not o.item_count)
    assert without.source_status in ("unavailable", "canceled")
    assert without.seller_ids == ()
    assert without.freight is None
    assert without.lane is None
    item = with_items[0]
    assert item.price is not None
    assert item.price > 0
    assert item.seller_state is not None


def test_first_order_matches_the_csv(shared_data: Path) -> None:
    first = next(iter(read_olist(_sample(shared_data))))
    assert first.order_id == "e481f51cbdc54678b7cc49136f2d6af7"
    assert first.purchased_at.isoformat() == "2017-10-02T10:56:33"
    assert first.shipped_at is not None
    assert first.shipped_at.isoformat() == "2017-10-04T19:55:00"
    assert first.promised_at is not None
    assert first.promised_at.date().isoformat() == "2017-10-18"
    assert first.status is Status.DELIVERED


def test_distance_falls_back_to_state_capitals_without_geolocation(shared_data: Path) -> None:
    orders = [o for o in read_olist(_sample(shared_data)) if o.lane]
    for o in orders:
        assert o.distance_km == capital_distance_km(o.seller_state, o.customer_state)
    assert capital_distance_km("SP", "RJ") is not None
    assert 330 < (capital_distance_km("SP", "RJ") or 0) < 380  # ~357 km great-circle
    assert capital_distance_km("SP", "SP") is None  # within a state: unknown, not 0


def test_geolocation_file_gives_zip_prefix_distances(tmp_path: Path) -> None:
    # A one-order export in Kaggle's exact layout, with the geolocation file present.
    files = {
        "olist_orders_dataset.csv": '"order_id","customer_id","order_status",'
        '"order_purchase_timestamp","order_approved_at","order_delivered_carrier_date",'
        '"order_delivered_customer_date","order_estimated_delivery_date"\n'
        "o1,c1,shipped,2018-01-02 10:00:00,2018-01-02 11:00:00,2018-01-03 12:00:00,,"
        "2018-01-20 00:00:00\n",
        "olist_order_items_dataset.csv": '"order_id","order_item_id","product_id","seller_id",'
        '"shipping_limit_date","price","freight_value"\n'
        "o1,1,p1,s1,2018-01-05 00:00:00,50.00,10.00\no1,2,p2,s1,2018-01-05 00:00:00,25.50,5.25\n",
        "olist_customers_dataset.csv": '"customer_id","customer_unique_id",'
        '"customer_zip_code_prefix","customer_city","customer_state"\n'
        'c1,u1,"01310",sao paulo,SP\n',
        "olist_sellers_dataset.csv": '"seller_id","seller_zip_code_prefix","seller_city",'
        '"seller_state"\ns1,"13023",campinas,SP\n',
        "olist_geolocation_dataset.csv": "geolocation_zip_code_prefix,geolocation_lat,"
        "geolocation_lng,geolocation_city,geolocation_state\n"
        "01310,-23.56,-46.65,sao paulo,SP\n01310,-23.58,-46.67,sao paulo,SP\n"
        "13023,-22.90,-47.06,campinas,SP\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (order,) = read_olist(tmp_path)
    assert order.status is Status.SHIPPED
    assert order.delivered_at is None
    assert order.item_count == 2
    assert order.price == 75.5
    assert order.freight == 15.25
    assert order.lane == "SP>SP"
    assert order.customer_zip_prefix == "01310"
    # São Paulo (Paulista) to Campinas: ~85 km great-circle.
    assert order.distance_km is not None
    assert 75 < order.distance_km < 95
