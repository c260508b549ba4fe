"""Deployment settings per stage, read from CDK context (`-c stage=prod`, `-c key=value`, cdk.json).

Nothing here names an account or a region: they come from the CDK CLI's environment
(`CDK_DEFAULT_ACCOUNT`/`CDK_DEFAULT_REGION`) or from `-c account=… -c region=…`; without either the
stack is environment-agnostic and still synthesizes offline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Node

Stage = Literal["dev", "prod"]

LOG_RETENTION: dict[str, logs.RetentionDays] = {
    "dev": logs.RetentionDays.TWO_WEEKS,
    "prod": logs.RetentionDays.THREE_MONTHS,
}


@dataclass(frozen=True)
class StageConfig:
    """Everything that differs between dev and prod, or between one deployment and another."""

    stage: Stage
    account: str | None
    region: str | None
    log_retention: logs.RetentionDays
    removal_policy: RemovalPolicy
    # Kinesis: on-demand by default; provisioned with `-c kinesisShards=N` (N >= 1).
    kinesis_shards: int | None
    enhanced_fan_out: bool
    # The enrich mapping's batching window in seconds (`-c batchingWindowSeconds=N`, 0-300); None
    # keeps the topology's. Longer windows trade freshness for fewer, fuller batches (docs/cost.md).
    batching_window_seconds: int | None
    # How ingest writes stream records (`-c streamRecordFormat=event` while upgrading a stack whose
    # enrich function predates envelopes; see docs/deploy.md).
    stream_record_format: str
    # API Gateway stage throttling (requests per second, burst).
    throttle_rate: int
    throttle_burst: int
    # Athena: queries scanning more than this are cancelled.
    athena_bytes_scanned_cutoff: int
    # WAF: requests per 5 minutes from one IP before it is blocked on the ingest path.
    waf_rate_limit: int
    # A custom domain for the API (with a certificate in the stack's region). With it the default
    # execute-api endpoint is disabled, so every request must pass CloudFront and its WAF.
    api_domain_name: str | None
    api_certificate_arn: str | None
    # A custom domain for CloudFront (certificate in us-east-1), enabling TLS 1.2+ only.
    site_domain_name: str | None
    site_certificate_arn: str | None
    alarm_email: str | None
    cors_origins: tuple[str, ...]
    # The Cognito hosted UI's domain prefix (`<prefix>.auth.<region>.amazoncognito.com`); by default
    # "reviva-<stage>-" plus a piece of the stack's own id, unique without naming an account.
    auth_domain_prefix: str | None

    @property
    def prefix(self) -> str:
        """Prefix of the names this stage gives its resources."""
        return f"reviva-{self.stage}"

    @property
    def application_log_level(self) -> str:
        """The functions' application log level: Lambda's filter and Powertools' Logger alike.

        Never above INFO: Powertools writes its metrics as embedded-metric-format lines with no
        `level` key, which Lambda's log-level filter treats as INFO, so a WARN filter would drop every
        custom metric. What saves log volume in prod is the system level (see `system_log_level`).
        """
        return "DEBUG" if self.stage == "dev" else "INFO"

    @property
    def powertools_log_level(self) -> str:
        """Kept equal to `application_log_level`: with Lambda's log-level filter on, Powertools'
        Logger takes its level from AWS_LAMBDA_LOG_LEVEL anyway, and a lower POWERTOOLS_LOG_LEVEL
        would only make it format lines Lambda then drops."""
        return self.application_log_level

    @property
    def system_log_level(self) -> str:
        """Lambda's own platform lines (START, END, REPORT and the like are INFO): WARN keeps only
        platform warnings and errors; duration, memory and errors are CloudWatch metrics already."""
        return "WARN"


MAX_BATCHING_WINDOW_SECONDS = 300  # Lambda's limit for a Kinesis event source mapping


def _get(node: Node, key: str, default: Any = None) -> Any:
    value = node.try_get_context(key)
    return default if value is None or value == "" else value


def _as_bool(value: Any) -> bool:
    return value is True or str(value).lower() in {"1", "true", "yes", "on"}


def stage_config(node: Node) -> StageConfig:
    """The configuration of the stage named by the `stage` context (default "dev")."""
    stage = str(_get(node, "stage", "dev"))
    if stage not in ("dev", "prod"):
        raise ValueError(f"context 'stage' must be 'dev' or 'prod', not {stage!r}")
    prod = stage == "prod"
    shards = _get(node, "kinesisShards")
    if shards is not None and (not str(shards).isdigit() or int(shards) < 1):
        raise ValueError(f"context 'kinesisShards' must be a whole number of shards >= 1, not {shards!r}")
    window = _get(node, "batchingWindowSeconds")
    if window is not None and (not str(window).isdigit() or int(window) > MAX_BATCHING_WINDOW_SECONDS):
        raise ValueError(
            f"context 'batchingWindowSeconds' must be a whole number of seconds from 0 to "
            f"{MAX_BATCHING_WINDOW_SECONDS}, not {window!r}"
        )
    origins = str(_get(node, "corsOrigins", "*"))
    record_format = str(_get(node, "streamRecordFormat", "envelope"))
    if record_format not in ("envelope", "event"):
        raise ValueError(f"context 'streamRecordFormat' must be 'envelope' or 'event', not {record_format!r}")
    return StageConfig(
        stage=stage,  # type: ignore[arg-type]
        account=_get(node, "account", os.environ.get("CDK_DEFAULT_ACCOUNT")),
        region=_get(node, "region", os.environ.get("CDK_DEFAULT_REGION")),
        log_retention=LOG_RETENTION[stage],
        # Production data survives a stack deletion; dev stacks clean up after themselves.
        removal_policy=RemovalPolicy.RETAIN if prod else RemovalPolicy.DESTROY,
        kinesis_shards=int(shards) if shards is not None else None,
        enhanced_fan_out=_as_bool(_get(node, "enhancedFanOut", False)),
        batching_window_seconds=int(window) if window is not None else None,
        stream_record_format=record_format,
        throttle_rate=int(_get(node, "throttleRate", 2000 if prod else 200)),
        throttle_burst=int(_get(node, "throttleBurst", 5000 if prod else 400)),
        athena_bytes_scanned_cutoff=int(_get(node, "athenaBytesScannedCutoff", 10 * 1024**3)),
        waf_rate_limit=int(_get(node, "wafRateLimit", 3000)),
        api_domain_name=_get(node, "apiDomainName"),
        api_certificate_arn=_get(node, "apiCertificateArn"),
        site_domain_name=_get(node, "siteDomainName"),
        site_certificate_arn=_get(node, "siteCertificateArn"),
        alarm_email=_get(node, "alarmEmail"),
        cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
        auth_domain_prefix=_get(node, "authDomainPrefix"),
    )
