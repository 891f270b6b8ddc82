"""Sample raw data for the shop contracts, written as Parquet with DuckDB (good rows, or rows that break
the contract in chosen ways)."""

from __future__ import annotations

from pathlib import Path

import duckdb

CUSTOMERS = """
select * from (values
    (1, 'ann@example.com', 'gold',   'DE', now() - interval 10 day,   true),
    (2, 'bob@example.com', 'silver', 'FR', now() - interval 400 day,  true),
    (3, 'cy@example.com',  'bronze', null, now() - interval 20 day,   true),
    (4, 'old@example.com', 'gold',   'NL', now() - interval 7300 day, true),
    (5, 'no@example.com',  'silver', 'IT', now() - interval 5 day,    false)
) t(customer_id, email, tier, country, signed_up_at, marketing_consent)
"""

ORDERS = """
select * from (values
    (10, 1, 'placed',   12.50::decimal(12,2), 2, timestamp '2025-01-01 10:00', date '2025-01-01', false,
     '4111111111111111', 'a', 'first', uuid '6f1c3c1e-5a8a-4b8e-9d1e-1a2b3c4d5e6f', 1.5,
     '{"k": 1}'::json, ['x', 'y']),
    (11, 2, 'shipped',   7.00::decimal(12,2), 1, timestamp '2025-01-02 11:00', date '2025-01-02', true,
     '5500000000000004', 'b', null, null, 2.25, null, []::varchar[]),
    (12, 1, 'returned',  3.25::decimal(12,2), 5, timestamp '2025-01-03 12:00', date '2025-01-03', false,
     null, null, 'gift wrap', null, null, '{}'::json, null)
) t(order_id, customer_id, status, amount, quantity, ordered_at, order_date, is_gift, card_number, "group",
    notes, tracking_id, weight, payload, labels)
"""

#: Rows that break the contract: a null in a required column and a value outside accepted values.
BAD_ORDERS = ORDERS.replace("(11, 2, 'shipped'", "(11, null, 'shipped'").replace("'returned'", "'lost'")


def write_parquet(warehouse: Path, *, orders: str = ORDERS, customers: str = CUSTOMERS) -> None:
    """Write ``<warehouse>/shop/<object>/data.parquet`` for both contracts."""
    with duckdb.connect() as con:
        for name, query in (("customers", customers), ("orders", orders)):
            folder = warehouse / "shop" / name
            folder.mkdir(parents=True, exist_ok=True)
            con.execute(f"copy ({query}) to '{(folder / 'data.parquet').as_posix()}' (format parquet)")
