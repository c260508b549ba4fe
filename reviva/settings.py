"""Runtime configuration, read from the environment when a handler first needs it.

Nothing here runs at import time: handlers call `load_settings()` inside their logic, so tests and
the local runtime can set the environment first. Resource names default to the names the local
runtime creates; CDK sets them explicitly in AWS.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def env_name(model: type[BaseSettings], field: str) -> str:
    """The environment variable a settings model reads into `field`: `env_name(Settings, "events_stream")`.

    CDK names a function's variables through this, so each name is written once (as the field's
    alias); a field the model lacks raises at synth instead of deploying a variable nobody reads.
    """
    try:
        info = model.model_fields[field]
    except KeyError:
        raise KeyError(f"{model.__name__} has no field {field!r}") from None
    if info.alias is None:
        raise ValueError(f"{model.__name__}.{field} has no alias: its variable name would be implicit")
    return info.alias


class Settings(BaseSettings):
    """Everything a function needs to find its resources and secrets."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    stage: str = Field(default="local", alias="REVIVA_STAGE")
    aws_region: str = Field(default="us-east-1", alias="AWS_REGION")
    aws_endpoint_url: str | None = Field(default=None, alias="AWS_ENDPOINT_URL")

    events_stream: str = Field(default="reviva-events", alias="EVENTS_STREAM")
    # How ingest writes stream records: "envelope" (one zlib record per request and visitor) or
    # "event" (one JSON record per event). Enrich reads both; deploy "event" first when upgrading a
    # stack whose enrich function predates envelopes, then switch.
    stream_record_format: Literal["envelope", "event"] = Field(
        default="envelope", alias="REVIVA_STREAM_RECORD_FORMAT"
    )
    visitors_table: str = Field(default="reviva-visitors", alias="VISITORS_TABLE")
    identities_table: str = Field(default="reviva-identities", alias="IDENTITIES_TABLE")
    counters_table: str = Field(default="reviva-counters", alias="COUNTERS_TABLE")
    rejected_table: str = Field(default="reviva-rejected", alias="REJECTED_TABLE")
    consents_table: str = Field(default="reviva-consents", alias="CONSENTS_TABLE")
    dead_letter_queue_url: str | None = Field(default=None, alias="DEAD_LETTER_QUEUE_URL")

    lake_bucket: str = Field(default="reviva-lake", alias="LAKE_BUCKET")
    lake_namespace: str = Field(default="reviva", alias="LAKE_NAMESPACE")
    lake_table: str = Field(default="events", alias="LAKE_TABLE")
    # "glue" in AWS; "sql" (a SQLite catalog file) locally, where Glue is emulated poorly.
    lake_catalog: str = Field(default="sql", alias="LAKE_CATALOG")
    lake_catalog_uri: str | None = Field(default=None, alias="LAKE_CATALOG_URI")

    # Comma-separated list; each entry is a write key a tracker or SDK may use.
    write_keys: str = Field(default="", alias="REVIVA_WRITE_KEYS")
    write_key: str = Field(default="", alias="REVIVA_WRITE_KEY")
    admin_token: str = Field(default="", alias="REVIVA_ADMIN_TOKEN")
    pseudonymization_key: str = Field(default="", alias="REVIVA_PSEUDONYMIZATION_KEY")
    allowed_origins: str = Field(default="*", alias="REVIVA_ALLOWED_ORIGINS")
    journey_rules_path: str | None = Field(default=None, alias="REVIVA_JOURNEY_RULES")
    # In AWS the secrets stay in Secrets Manager; functions get their ARNs and read them at cold start.
    pseudonymization_key_secret_arn: str | None = Field(
        default=None, alias="REVIVA_PSEUDONYMIZATION_KEY_SECRET_ARN"
    )
    write_keys_secret_arn: str | None = Field(default=None, alias="REVIVA_WRITE_KEYS_SECRET_ARN")
    # The header value CloudFront adds to API requests (reviva/origin_verify.py); empty = no check.
    origin_verify_secret: str = Field(default="", alias="REVIVA_ORIGIN_VERIFY_SECRET")
    origin_verify_secret_arn: str | None = Field(default=None, alias="REVIVA_ORIGIN_VERIFY_SECRET_ARN")

    def accepted_write_keys(self) -> frozenset[str]:
        """All write keys that authenticate a sender."""
        keys = {k.strip() for k in self.write_keys.split(",") if k.strip()}
        if self.write_key:
            keys.add(self.write_key)
        return frozenset(keys)

    def origins(self) -> tuple[str, ...]:
        """Origins allowed by CORS; "*" allows any."""
        return tuple(o.strip() for o in self.allowed_origins.split(",") if o.strip())

    def hmac_key(self) -> bytes:
        """The pseudonymization key; refuses to run without one outside tests."""
        if not self.pseudonymization_key:
            raise RuntimeError("REVIVA_PSEUDONYMIZATION_KEY is not set")
        return hashlib.sha256(self.pseudonymization_key.encode()).digest()


def resolve_secrets(settings: Settings) -> Settings:
    """Fill secrets that are given only by their Secrets Manager ARN (one call each, at cold start)."""
    wanted = {
        "pseudonymization_key": settings.pseudonymization_key_secret_arn
        if not settings.pseudonymization_key
        else None,
        "write_keys": settings.write_keys_secret_arn if not settings.accepted_write_keys() else None,
        "origin_verify_secret": None if settings.origin_verify_secret else settings.origin_verify_secret_arn,
    }
    if not any(wanted.values()):
        return settings
    from reviva.aws_clients import client

    secrets = client("secretsmanager", settings)
    values = {
        field: secrets.get_secret_value(SecretId=arn)["SecretString"] for field, arn in wanted.items() if arn
    }
    return settings.model_copy(update=values)


@lru_cache(maxsize=1)
def load_settings() -> Settings:
    """Read the settings once per process (a Lambda container or the local runtime)."""
    return resolve_secrets(Settings())


def reset_settings_cache() -> None:
    """Forget cached settings (tests and the local runtime change the environment)."""
    load_settings.cache_clear()
