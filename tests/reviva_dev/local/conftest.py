"""An emulator shared by a test module, and SDK clients pointed at it (the moto patch tests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reviva.aws_clients import client
from reviva.settings import load_settings
from reviva_dev.local.emulator import Emulator

TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "REVIVA_PSEUDONYMIZATION_KEY": "test-pseudonymization-key",
}


@pytest.fixture(scope="module")
def module_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """One in-process emulator for the whole module, with test credentials."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in TEST_ENVIRONMENT.items():
            patch.setenv(name, value)
        emulated = Emulator(Path(tmp_path_factory.mktemp("data")))
        emulated.start()
        yield emulated
        emulated.stop()


def _client_of(service: str, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    return client(service, load_settings())


@pytest.fixture
def dynamodb(module_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A DynamoDB client on the module's emulator."""
    return _client_of("dynamodb", module_emulator, monkeypatch)


@pytest.fixture
def kinesis(module_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A Kinesis client on the module's emulator."""
    return _client_of("kinesis", module_emulator, monkeypatch)
