"""The lake's `transactions` table: the store's purchases (imported, later also from events).

Partitioned by the purchase's month (a store's history is small: a month holds few files) and
written with the events table's properties (copy-on-write deletes for erasure). Athena reads it as
`transactions` beside `events`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import In
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import MonthTransform
from pyiceberg.types import DateType, DoubleType, NestedField, StringType, TimestamptzType

from reviva.adapters.lake.catalog import EVENTS_TABLE_PROPERTIES
from reviva.scoring.stored_transaction import StoredTransaction
from reviva.settings import Settings

TRANSACTIONS_TABLE = "transactions"

TRANSACTIONS_SCHEMA = Schema(
    NestedField(1, "transaction_id", StringType(), required=True),
    NestedField(2, "customer_key", StringType(), required=True),
    NestedField(3, "visitor_key", StringType(), required=False),
    NestedField(4, "transaction_date", DateType(), required=True),
    NestedField(5, "amount", DoubleType(), required=True),
    NestedField(6, "source", StringType(), required=True),
    NestedField(7, "imported_at", TimestamptzType(), required=True),
)
TRANSACTIONS_PARTITION_SPEC = PartitionSpec(
    PartitionField(source_id=4, field_id=1000, transform=MonthTransform(), name="transaction_month")
)
_ARROW_SCHEMA = pa.schema(
    [
        pa.field("transaction_id", pa.string(), nullable=False),
        pa.field("customer_key", pa.string(), nullable=False),
        pa.field("visitor_key", pa.string(), nullable=True),
        pa.field("transaction_date", pa.date32(), nullable=False),
        pa.field("amount", pa.float64(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("imported_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


def transactions_table_identifier(settings: Settings) -> tuple[str, str]:
    """The (namespace, table) of the transactions table."""
    return (settings.lake_namespace, TRANSACTIONS_TABLE)


def ensure_transactions_table(catalog: Catalog, settings: Settings) -> Table:
    """Create the namespace and the `transactions` table if missing; return the table."""
    namespace, _ = identifier = transactions_table_identifier(settings)
    try:
        return catalog.load_table(identifier)
    except NoSuchTableError:
        catalog.create_namespace_if_not_exists(namespace)
        return catalog.create_table_if_not_exists(
            identifier,
            schema=TRANSACTIONS_SCHEMA,
            partition_spec=TRANSACTIONS_PARTITION_SPEC,
            properties=EVENTS_TABLE_PROPERTIES,
        )


def transactions_to_arrow(rows: Sequence[StoredTransaction]) -> pa.Table:
    """Rows in the table's Arrow form."""
    return pa.Table.from_pylist(
        [
            {
                "transaction_id": row.transaction_id,
                "customer_key": row.customer_key,
                "visitor_key": row.visitor_key,
                "transaction_date": row.transaction_date,
                "amount": row.amount,
                "source": row.source,
                "imported_at": row.imported_at,
            }
            for row in rows
        ],
        schema=_ARROW_SCHEMA,
    )


class LakeTransactionStore:
    """`reviva.scoring.ports.TransactionStore` on the lake; the table is loaded on first use."""

    def __init__(self, table_loader: Callable[[], Table]) -> None:
        self._load = table_loader

    def existing_ids(self, days: Iterable[date]) -> set[str]:
        """Ids stored for these days (the scan prunes to their months' partitions)."""
        wanted = sorted({day.isoformat() for day in days})
        if not wanted:
            return set()
        table = self._load()
        rows = table.scan(
            row_filter=In("transaction_date", wanted),  # type: ignore[call-arg,arg-type]
            selected_fields=("transaction_id",),
        ).to_arrow()
        return set(rows.column("transaction_id").to_pylist())

    def append(self, rows: Sequence[StoredTransaction]) -> int:
        """Append the rows in one commit."""
        if not rows:
            return 0
        self._load().append(transactions_to_arrow(rows))
        return len(rows)
