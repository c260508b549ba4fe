"""The emulator in a process of its own: the same stack over HTTP, a child that never outlives it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from reviva.aws_clients import client
from reviva.settings import load_settings
from reviva_dev.local.emulator import Emulator
from reviva_dev.measure.load import process_cpu_seconds

pytestmark = pytest.mark.integration


def test_the_stack_is_served_by_a_child_process_and_goes_with_it(tmp_path: Path) -> None:
    emulator = Emulator(tmp_path, separate_process=True)
    resources = emulator.start()
    try:
        child = emulator._process
        assert child is not None and child.poll() is None
        settings = load_settings()
        assert settings.aws_endpoint_url == resources.endpoint_url
        assert os.environ["MOTO_PORT"] == resources.endpoint_url.rsplit(":", 1)[1]
        assert set(resources.tables) <= set(client("dynamodb", settings).list_tables()["TableNames"])
        # This process holds no moto server: nothing to wrap, and the CPU of the emulator is the child's.
        with pytest.raises(RuntimeError, match="separate process"):
            emulator.wrap_app(lambda app: app)
        assert (process_cpu_seconds(os.getpid()) or 0) >= (process_cpu_seconds(child.pid) or 0)

        # The child applies the same patches: a cancelled transaction undoes its first action.
        dynamodb = client("dynamodb", settings)
        table = settings.rejected_table
        key_schema = dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
        key = {part["AttributeName"]: {"S": f"transaction-{part['KeyType']}"} for part in key_schema}
        with pytest.raises(ClientError, match="TransactionCanceled"):
            dynamodb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": table, "Item": key}},
                    {
                        "ConditionCheck": {
                            "TableName": settings.visitors_table,
                            "Key": {"pk": {"S": "a:nobody"}, "sk": {"S": "PROFILE"}},
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                ]
            )
        assert "Item" not in dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)
    finally:
        emulator.stop()

    assert child.wait(timeout=10) is not None
    assert emulator._process is None
    assert os.environ.get("AWS_ENDPOINT_URL") != resources.endpoint_url  # the environment is restored
