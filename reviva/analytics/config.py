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
    # A rollup of a day that had not ended is served as is for the min age, then only while the lake
    # has no newer commit, and recomputed on read past the max age (the schedule refreshes it first).
    # Unset: 300 s on Athena (the 5-minute schedule keeps rollups younger, so reads never wait on
    # Athena), 60 s on DuckDB (recomputing locally is cheap and a demo fills the lake fast).
    rollup_min_age_seconds: int | None = Field(default=None, alias="ROLLUP_MIN_AGE_SECONDS")
    rollup_max_age_seconds: int = Field(default=900, alias="ROLLUP_MAX_AGE_SECONDS")
    # Where rollups and imported spend live; empty = the lake bucket (prefix analytics/).
    analytics_bucket: str = Field(default="", alias="ANALYTICS_BUCKET")
