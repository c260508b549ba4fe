"""DynamoDB Query on the emulator: read the one partition asked for, not the whole table.

moto answers a Query on a table's own key by sorting every item of the table (`Table.all_items`)
and then keeping those of the asked partition: O(n log n) in the table's size for every request.
Under the local stack's load that was the largest cost of the emulator (enrich reads each visitor's
identity links and profile by Query), and it grew with the data. While moto runs such a Query,
`all_items` here returns only the partition's items, sorted by the same key: the same items in the
same order as moto's filter of the whole sorted table, so every answer is unchanged. Queries on
an index keep moto's own path.
"""

from __future__ import annotations

import threading
from typing import Any

from reviva_dev.local.moto_patching import is_replaced, replace_methods, restore_methods

# The attribute marking a moto method as already replaced by this module.
_MARK = "__reviva_partition_query__"
_current = threading.local()


def install_partition_query() -> None:
    """Make moto's base-table Query read one partition (idempotent)."""
    from moto.dynamodb.models.table import Table

    if is_replaced(Table, "query", _MARK):
        return
    moto_query = Table.query
    moto_all_items = Table.all_items

    def query(
        self: Any,
        hash_key: Any,
        range_comparison: Any,
        range_objs: Any,
        limit: Any,
        exclusive_start_key: Any,
        scan_index_forward: Any,
        projection_expressions: Any,
        index_name: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        partition = not index_name and hash_key is not None
        if partition:
            _current.query = (self, hash_key)
        try:
            return moto_query(
                self,
                hash_key,
                range_comparison,
                range_objs,
                limit,
                exclusive_start_key,
                scan_index_forward,
                projection_expressions,
                index_name,
                *args,
                **kwargs,
            )
        finally:
            if partition:
                _current.query = None

    def all_items(self: Any) -> list[Any]:
        current = getattr(_current, "query", None)
        if current is None or current[0] is not self:
            return moto_all_items(self)
        found = self.items.get(current[1])  # `get`: moto's defaultdict would add an empty partition
        if found is None:
            return []
        items = list(found.values()) if self.range_key_attr else [found]
        # moto's own sort key: its filter of the whole sorted table keeps exactly this order.
        return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    replace_methods(Table, _MARK, {"query": query, "all_items": all_items})


def uninstall_partition_query() -> None:
    """Give moto its own methods back (for tests that compare the two)."""
    from moto.dynamodb.models.table import Table

    restore_methods(Table, _MARK, ("query", "all_items"))
