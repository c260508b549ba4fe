"""The analytics layer's configuration (its own settings, read from the environment when built)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AnalyticsSettings(BaseSettings):
    """Engine and Athena options; defaults suit the local runtime."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    # "athena" in AWS, "duckdb" locally; empty = follow LAKE_CATALOG (glue → athena, sql → duckdb).
    engine: str = Field(default="", alias="ANALYTICS_ENGINE")
    athena_workgroup: str = Field(default="reviva", alias="ATHENA_WORKGROUP")
    # The Glue database holding the events table; empty = the lake namespace.
    athena_database: str = Field(default="", alias="ATHENA_DATABASE")
    athena_timeout_seconds: float = Field(default=20.0, alias="ATHENA_TIMEOUT_SECONDS")
    athena_reuse_minutes: int = Field(default=15, alias="ATHENA_RESULT_REUSE_MINUTES")
    # A day's rollup is recomputed once a lake commit after it changed that day, but a rollup younger
    # than the min age is served as is meanwhile (the answer's freshness counts it as lagging).
    # Unset: 300 s on Athena (the 5-minute schedule recomputes changed days first, so reads rarely
    # wait on Athena), 60 s on DuckDB (recomputing locally is cheap and a demo fills the lake fast).
    rollup_min_age_seconds: int | None = Field(default=None, alias="ROLLUP_MIN_AGE_SECONDS")
    # Where rollups and imported spend live; empty = the lake bucket (prefix analytics/).
    analytics_bucket: str = Field(default="", alias="ANALYTICS_BUCKET")
