"""boto3 clients that honour `AWS_ENDPOINT_URL`, so the same code runs on moto, LocalStack and AWS."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from reviva.settings import Settings

_RETRY_CONFIG = Config(retries={"max_attempts": 5, "mode": "adaptive"}, connect_timeout=5, read_timeout=30)


def client(service: str, settings: Settings) -> Any:
    """Build a client for `service` against the configured endpoint and region."""
    # The service name is a runtime value, so boto3-stubs' per-service overloads cannot apply.
    factory: Any = boto3.client
    return factory(
        service,
        region_name=settings.aws_region,
        endpoint_url=settings.aws_endpoint_url,
        config=_RETRY_CONFIG,
    )
