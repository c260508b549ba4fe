"""boto3 clients that honour `AWS_ENDPOINT_URL`, so the same code runs on moto, LocalStack and AWS.

It takes anything with a region and an endpoint (the settings) rather than importing the settings
module, which itself builds a client at cold start to read its secrets.
"""

from __future__ import annotations

from typing import Any, Protocol

import boto3
from botocore.config import Config

# Connections kept per client (botocore's default is 10). A Lambda container runs one invocation
# (enrich writes 8 visitors at once), but `reviva dev` shares each client among every concurrent
# invocation of a function (16 each; enrich 4 shards of 8 writers): beyond the pool, each request opened a
# new connection and threw it away, a TCP handshake and a server thread per request under load.
MAX_POOL_CONNECTIONS = 64

_RETRY_CONFIG = Config(
    retries={"max_attempts": 5, "mode": "adaptive"},
    connect_timeout=5,
    read_timeout=30,
    max_pool_connections=MAX_POOL_CONNECTIONS,
)


class AwsEndpoint(Protocol):
    """Where clients connect: the region and, for emulators, an endpoint URL."""

    @property
    def aws_region(self) -> str: ...

    @property
    def aws_endpoint_url(self) -> str | None: ...


def client(service: str, endpoint: AwsEndpoint) -> Any:
    """Build a client for `service` against the configured endpoint and region."""
    # The service name is a runtime value, so boto3-stubs' per-service overloads cannot apply.
    factory: Any = boto3.client
    return factory(
        service,
        region_name=endpoint.aws_region,
        endpoint_url=endpoint.aws_endpoint_url,
        config=_RETRY_CONFIG,
    )
