"""DynamoDB transactions on the emulator: an undo log of the touched items, one writer at a time.

moto's `transact_write_items` deep-copies every table a transaction names before it starts, so it
can put the copies back if the transaction is cancelled. Under the local stack's load that copy
was the largest single cost of the emulator, it grew with the tables, and it iterated tables that
other request threads were writing ("dictionary changed size during iteration"). Worse, putting a
whole table back undid every write other threads had made meanwhile.

The replacement keeps moto's semantics (at most 100 actions, one action per item, condition
checks, all-or-nothing, the same cancellation reasons in the same order) but remembers only the
items it touches: before each action, a copy of that one item (or its absence); on cancellation
the items are put back in reverse order. Transactions and single-item writes of one backend take
one lock, so a transaction's checks and writes are not interleaved with another writer's, as
DynamoDB's serializable transactions promise. Tables with a DynamoDB stream keep moto's own path:
their stream records would need undoing too, and the stack declares no such stream.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any

from reviva_dev.local.moto_patching import is_replaced, owned_lock, replace_methods, restore_methods

# The attribute marking a moto method as already replaced by this module.
_MARK = "__reviva_undo_log__"
_LOCK_ATTRIBUTE = "_reviva_write_lock"
_SERIALIZED_WRITES = ("put_item", "update_item", "delete_item")

# An undo entry: the table, the item's keys, and the item as it was before (None: it did not exist).
UndoEntry = tuple[Any, Any, Any, Any]


def backend_write_lock(backend: Any) -> threading.RLock:
    """The one re-entrant lock every write of `backend` takes (created on first use)."""
    lock: threading.RLock = owned_lock(backend, _LOCK_ATTRIBUTE, threading.RLock)
    return lock


def _serialized(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with backend_write_lock(self):
            return method(self, *args, **kwargs)

    return locked


def install_transaction_undo_log() -> None:
    """Replace moto's DynamoDB `transact_write_items` and serialize its item writes (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend

    if is_replaced(DynamoDBBackend, "transact_write_items", _MARK):
        return
    moto_transaction = DynamoDBBackend.transact_write_items
    replace_methods(
        DynamoDBBackend,
        _MARK,
        {name: _serialized(getattr(DynamoDBBackend, name)) for name in _SERIALIZED_WRITES},
    )

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with backend_write_lock(self):
            if _touches_a_streamed_table(self, transact_items):
                return moto_transaction(self, transact_items)
            return _transact_with_undo_log(self, transact_items)

    replace_methods(DynamoDBBackend, _MARK, {"transact_write_items": transact_write_items})


def uninstall_transaction_undo_log() -> None:
    """Give moto its own methods back (for tests that compare the two)."""
    from moto.dynamodb.models import DynamoDBBackend

    restore_methods(DynamoDBBackend, _MARK, ("transact_write_items", *_SERIALIZED_WRITES))


def _touches_a_streamed_table(backend: Any, transact_items: list[dict[str, Any]]) -> bool:
    for action in transact_items:
        _, operation = next(iter(action.items()))
        table = backend.tables.get(operation.get("TableName"))
        if table is not None and table.stream_shard is not None:
            return True
    return False


def _remember(backend: Any, table_name: str, key: dict[str, Any], undo_log: list[UndoEntry]) -> None:
    """Append the item at `key` as it is now (a copy, or None if absent) to `undo_log`."""
    table = backend.get_table(table_name)
    hash_value, range_value = backend.get_keys_value(table, key)
    current = table.get_item(hash_value, range_value)
    undo_log.append((table, hash_value, range_value, copy.deepcopy(current)))


def _undo(undo_log: list[UndoEntry]) -> None:
    """Put every remembered item back as it was, the latest change first."""
    for table, hash_value, range_value, previous in reversed(undo_log):
        if range_value is not None:
            if previous is None:
                table.items[hash_value].pop(range_value, None)
            else:
                table.items[hash_value][range_value] = previous
        elif previous is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = previous


def _transact_with_undo_log(backend: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's `transact_write_items` (5.x), rolling back by the undo log instead of table copies."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo_log: list[UndoEntry] = []
    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            _undo(undo_log)
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            expression_attribute_names = op.get("ExpressionAttributeNames")
            expression_attribute_values = op.get("ExpressionAttributeValues")
            return_values_on_condition_check_failure = op.get("ReturnValuesOnConditionCheckFailure")

            if op_type == "Put":
                attrs = op["Item"]
                table = backend.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]

            check_unicity(table_name, key)

            current = backend.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = get_filter_expression(
                    condition_expression, expression_attribute_names, expression_attribute_values
                )
                if not condition_op.expr(current):
                    if return_values_on_condition_check_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            if op_type != "ConditionCheck":
                _remember(backend, table_name, key, undo_log)
            if op_type == "Put":
                backend.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Delete":
                backend.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Update":
                backend.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            _undo(undo_log)
            raise
        except ConditionalCheckFailed as error:
            errors.append(("ConditionalCheckFailed", str(error.message), original_item))  # type: ignore[arg-type]
        except Exception as error:  # moto reports any other failure as that action's reason
            errors.append((type(error).__name__, str(error), original_item))  # type: ignore[arg-type]

    if any(code is not None for code, _, _ in errors):
        _undo(undo_log)
        raise TransactionCanceledException(errors)
