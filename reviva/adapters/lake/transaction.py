"""pyiceberg's `Transaction` with its metadata view computed once per staged change.

pyiceberg's `Transaction.table_metadata` applies every staged update to the table's metadata and
deep-copies the result on *every* access, and one append reads it ~20 times (snapshot producer,
manifest writers, validation). The deep copy walks every snapshot the metadata keeps, so an append's
CPU grew with the table's history: profiling enrich on the cost harness put ~60 % of its CPU in
`copy.deepcopy` under `update_table_metadata`.

The view only changes when the staged updates or the base metadata change, and pyiceberg replaces
both (a new tuple on every `_stage`, a new metadata object on every refresh or commit) instead of
mutating them, so the view is keyed on their identity. The metadata models are frozen pydantic
models, so handing the same view to every reader is safe.
"""

from __future__ import annotations

from pyiceberg.table import Table, Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.update import TableUpdate, update_table_metadata


class LakeTransaction(Transaction):
    """A `Transaction` whose `table_metadata` is recomputed only when it can have changed."""

    def __init__(self, table: Table, autocommit: bool = False) -> None:
        super().__init__(table, autocommit)
        self._view_of: tuple[TableMetadata, tuple[TableUpdate, ...]] | None = None
        self._view: TableMetadata | None = None

    @property
    def table_metadata(self) -> TableMetadata:
        base, updates = self._table.metadata, self._updates
        key = self._view_of
        if self._view is None or key is None or key[0] is not base or key[1] is not updates:
            self._view = update_table_metadata(base, updates)
            self._view_of = (base, updates)  # held, so the identities stay valid
        return self._view


def lake_transaction(table: Table) -> LakeTransaction:
    """Start a transaction on `table` (what `table.transaction()` does, without the repeated copies)."""
    return LakeTransaction(table)
