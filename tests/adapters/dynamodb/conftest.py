"""Fixtures for the DynamoDB adapter tests: the tables on moto's in-process mock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from reviva.adapters.dynamodb.tables import create_tables
from reviva.settings import Settings


@pytest.fixture
def settings() -> Iterator[Settings]:
    with mock_aws():
        settings = Settings()
        create_tables(settings)
        yield settings
