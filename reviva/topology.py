"""The stack's topology, declared once.

CDK (`infra/cdk_app.py`) builds AWS resources from these declarations and the local runtime
(`reviva_dev.local`) builds the emulated stack from the same ones, so the two cannot drift. Tables
are declared by their pynamodb models (keys, indexes and TTL live in the code that uses them);
this module names everything else: functions, routes, the stream and its consumer mapping,
queues, buckets and schedules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

# "write_key": the ingest function checks the source's write key itself; "public": no credentials;
# "signed_in": a Cognito JWT in AWS (the admin token locally) whose caller holds one of the route's
# roles (admin always may).
# Who may call the dashboard API: admin (everything), marketing (analytics), compliance (privacy
# requests). Cognito groups in AWS; the admin token locally (reviva/api/auth.py).
Role = Literal["admin", "marketing", "compliance"]
ROLES: tuple[Role, ...] = ("admin", "marketing", "compliance")
AuthKind = Literal["write_key", "public", "signed_in"]
FunctionName = Literal["ingest", "enrich", "score", "erasure", "query"]


@dataclass(frozen=True)
class FunctionSpec:
    """A Lambda function: its folder under `functions/` and its handler module."""

    name: FunctionName
    handler_module: str  # importable from the repository root, e.g. "functions.ingest.handler"
    memory_mb: int = 512
    timeout_seconds: int = 30
    uses_ml_layer: bool = False
    # pyiceberg + pyarrow (~210 MB): only for functions that touch the lake directly. It never fits
    # beside the ML layer within Lambda's 250 MB, so the score function reads the lake through Athena.
    uses_lake_layer: bool = False
    # The settings fields (of `reviva.settings.Settings` or `reviva.analytics.config.AnalyticsSettings`)
    # the function's code reads in AWS, where the local default would be wrong: CDK must set each one
    # (tests/infra/test_function_environment.py checks the template against this list).
    required_settings: tuple[str, ...] = ()
    # Lambda's reserved concurrency (None: the account's unreserved pool). CDK sets it; the local
    # runtime runs at most this many invocations of the function at once.
    reserved_concurrency: int | None = None


@dataclass(frozen=True)
class RouteSpec:
    """An HTTP route on the API (HTTP API, payload format 2.0) and who may call it.

    API Gateway's authorizer (CDK) and the function's router both read `auth` and `roles` from here.
    `roles` are the roles besides admin that may call a "signed_in" route (none: admin only).
    `use_case` names the module of `reviva.analytics.usecases` that answers an analytics route: the
    router serves it from this line alone.
    """

    method: Literal["GET", "POST", "OPTIONS", "DELETE", "PUT"]
    path: str  # API Gateway syntax: "/v1/visitors/{visitor_id}"
    function: FunctionName
    auth: AuthKind
    roles: tuple[Role, ...] = ()
    use_case: str | None = None

    def __post_init__(self) -> None:
        if self.roles and self.auth != "signed_in":
            raise ValueError(f"{self.method} {self.path}: only a signed_in route takes roles")
        if self.use_case is not None and self.function != "query":
            raise ValueError(f"{self.method} {self.path}: analytics use cases run in the query function")


@dataclass(frozen=True)
class StreamSpec:
    """The Kinesis stream events travel on (partition key = visitor)."""

    logical_name: str
    retention_hours: int = 24


@dataclass(frozen=True)
class StreamMappingSpec:
    """The event source mapping that feeds a stream to a consumer function.

    `parallelization_factor` stays 1: the consumer's exactly-once watermarks for the lake and the
    live counters are per shard and need one ordered batch at a time per shard.

    `max_batching_window_seconds` is the lever between freshness and cost: one visitor's events
    that share a batch share one DynamoDB transaction, and every batch costs a counters
    transaction and a lake commit. `make bench` measures the trade-off (docs/performance.md);
    30 s keeps the simulated mix under 0.5 DynamoDB writes per event while live tiles stay within
    half a minute. The local runtime uses `local_batching_window_seconds` so a developer sees
    their events at once.
    """

    stream: str
    function: FunctionName
    batch_size: int = 500
    max_batching_window_seconds: int = 30
    local_batching_window_seconds: int = 1
    parallelization_factor: int = 1
    bisect_batch_on_error: bool = True
    maximum_retry_attempts: int = 5
    maximum_record_age_seconds: int = 3600
    report_batch_item_failures: bool = True
    on_failure_queue: str = "enrich-dead-letter"
    starting_position: Literal["TRIM_HORIZON", "LATEST"] = "TRIM_HORIZON"


@dataclass(frozen=True)
class QueueSpec:
    logical_name: str
    retention_days: int = 14


@dataclass(frozen=True)
class BucketSpec:
    """An S3 bucket; `expire_after_days` (under `expire_prefix`) enforces a retention limit."""

    logical_name: str
    purpose: str
    expire_after_days: int | None = None
    expire_prefix: str = ""


@dataclass(frozen=True)
class ScheduleSpec:
    logical_name: str
    function: FunctionName
    expression: str  # EventBridge: "rate(1 hour)" or "cron(...)"
    payload: dict[str, str] = field(default_factory=dict)


def rate_seconds(expression: str) -> float | None:
    """Seconds between runs of an EventBridge `rate(...)` expression; None for `cron(...)`."""
    match = re.fullmatch(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)", expression.strip())
    if match is None:
        return None
    unit = {"minute": 60, "hour": 3600, "day": 86_400}[match.group(2).rstrip("s")]
    return int(match.group(1)) * unit


@dataclass(frozen=True)
class StateMachineSpec:
    """A Step Functions state machine: its ASL definition (`reviva.workflows`) and the functions it calls."""

    logical_name: str
    definition: str  # a name `reviva.workflows.load_definition` knows, e.g. "erasure"
    functions: tuple[FunctionName, ...] = ()


INGEST_PATHS: tuple[str, ...] = (
    "/v1/batch",
    "/v1/track",
    "/v1/page",
    "/v1/screen",
    "/v1/identify",
    "/v1/alias",
    "/v1/group",
    # analytics.js short paths ("/v1/b" is its batching mode)
    "/v1/b",
    "/v1/t",
    "/v1/p",
    "/v1/s",
    "/v1/i",
    "/v1/a",
    "/v1/g",
)

# analytics.js posts its own telemetry (counters about the library) to `{apiHost}/m`: the ingest
# function accepts and drops it, with CORS, so browsers show no error; nothing of it is stored.
TELEMETRY_PATH = "/m"
# Consent decisions, from the tracker or any banner (reviva.privacy.consent_records).
CONSENT_PATH = "/v1/privacy/consent"

# What opening the lake's `events` table through Glue reads (`reviva.adapters.lake.catalog`).
LAKE_SETTINGS: tuple[str, ...] = ("lake_bucket", "lake_catalog", "lake_namespace", "lake_table")
TABLE_SETTINGS: tuple[str, ...] = ("visitors_table", "identities_table", "counters_table", "rejected_table")

FUNCTIONS: tuple[FunctionSpec, ...] = (
    # Ingest mostly waits on Kinesis' PutRecords (~20 ms): at 256 MB its ~2 ms of CPU takes ~12 ms
    # and a request costs ~40 % fewer GB-seconds than at 512 MB; its imports take ~50 MB (docs/cost.md).
    FunctionSpec(
        "ingest",
        "functions.ingest.handler",
        memory_mb=256,
        timeout_seconds=10,
        # The cookieless daily salt lives in the counters table; rejected messages in their table.
        required_settings=(
            "events_stream",
            "stream_record_format",
            "rejected_table",
            "counters_table",
            "consents_table",
            "allowed_origins",
            "pseudonymization_key_secret_arn",
            "write_keys_secret_arn",
            "origin_verify_secret_arn",
        ),
    ),
    FunctionSpec(
        "enrich",
        "functions.enrich.handler",
        memory_mb=1024,
        timeout_seconds=120,
        uses_lake_layer=True,
        required_settings=(*TABLE_SETTINGS, *LAKE_SETTINGS, "pseudonymization_key_secret_arn"),
    ),
    # A placeholder until the intelligence issue: its handler reads no settings yet.
    FunctionSpec("score", "functions.score.handler", memory_mb=2048, timeout_seconds=900, uses_ml_layer=True),
    # Also the lake's hourly maintenance: compaction holds up to 64 MB of Parquet as Arrow in memory.
    # Its erasure step reads no store yet (the privacy issue), so the lake is all it needs today.
    FunctionSpec(
        "erasure",
        "functions.erasure.handler",
        memory_mb=2048,
        timeout_seconds=300,
        uses_lake_layer=True,
        required_settings=LAKE_SETTINGS,
    ),
    # The live reads (DynamoDB), analytics on Athena (the engine follows LAKE_CATALOG=glue), rollups
    # under the lake bucket's analytics/ prefix; admin tokens are not used in AWS (Cognito's JWT is).
    FunctionSpec(
        "query",
        "functions.query.handler",
        memory_mb=1024,
        timeout_seconds=30,
        uses_lake_layer=True,
        required_settings=(
            *TABLE_SETTINGS,
            *LAKE_SETTINGS,
            "athena_workgroup",
            "athena_database",
            "pseudonymization_key_secret_arn",
            "origin_verify_secret_arn",
        ),
    ),
)

ROUTES: tuple[RouteSpec, ...] = (
    *(RouteSpec("POST", path, "ingest", "write_key") for path in INGEST_PATHS),
    *(RouteSpec("OPTIONS", path, "ingest", "public") for path in INGEST_PATHS),
    RouteSpec("POST", CONSENT_PATH, "ingest", "write_key"),
    RouteSpec("OPTIONS", CONSENT_PATH, "ingest", "public"),
    RouteSpec("POST", TELEMETRY_PATH, "ingest", "public"),
    RouteSpec("OPTIONS", TELEMETRY_PATH, "ingest", "public"),
    RouteSpec("GET", "/health", "query", "public"),
    RouteSpec("GET", "/v1/rejected", "query", "signed_in", ("compliance",)),
    RouteSpec("GET", "/v1/visitors", "query", "signed_in", ("marketing", "compliance")),
    RouteSpec("POST", "/v1/visitors/search", "query", "signed_in", ("marketing", "compliance")),
    RouteSpec("GET", "/v1/visitors/{visitor_id}", "query", "signed_in", ("marketing", "compliance")),
    RouteSpec("GET", "/v1/stats/realtime", "query", "signed_in", ("marketing",)),
    # Analytics (issue 5): the dashboard's lake-backed views.
    RouteSpec("GET", "/v1/stats/overview", "query", "signed_in", ("marketing",), use_case="overview"),
    RouteSpec("POST", "/v1/funnels", "query", "signed_in", ("marketing",), use_case="funnels"),
    RouteSpec(
        "GET", "/v1/funnels/vocabulary", "query", "signed_in", ("marketing",), use_case="funnel_vocabulary"
    ),
    RouteSpec("GET", "/v1/funnels/saved", "query", "signed_in", ("marketing",), use_case="saved_funnels"),
    RouteSpec("POST", "/v1/funnels/saved", "query", "signed_in", ("marketing",), use_case="save_funnel"),
    RouteSpec("GET", "/v1/retention", "query", "signed_in", ("marketing",), use_case="retention"),
    RouteSpec("GET", "/v1/paths", "query", "signed_in", ("marketing",), use_case="paths"),
    RouteSpec("GET", "/v1/attribution", "query", "signed_in", ("marketing",), use_case="attribution"),
    RouteSpec("GET", "/v1/campaigns", "query", "signed_in", ("marketing",), use_case="campaigns"),
    RouteSpec("GET", "/v1/trends", "query", "signed_in", ("marketing",), use_case="trends"),
)

EVENTS_STREAM = StreamSpec("events")

STREAM_MAPPINGS: tuple[StreamMappingSpec, ...] = (StreamMappingSpec(stream="events", function="enrich"),)

QUEUES: tuple[QueueSpec, ...] = (QueueSpec("enrich-dead-letter"),)

BUCKETS: tuple[BucketSpec, ...] = (
    # Source plan's retention table: analytics events are kept 2 years. The lake's data files (never
    # its metadata) expire a month after that, a backstop should row-level retention not have run.
    BucketSpec(
        "lake", "Iceberg data and metadata of the events table", 760, "warehouse/reviva.db/events/data/"
    ),
    BucketSpec("models", "trained model artefacts"),
    BucketSpec("athena-results", "Athena query results", 30),
    BucketSpec("site", "the tracker script and the dashboard, served by CloudFront"),
    BucketSpec("access-logs", "S3 server access logs and CloudFront logs", 365),
)

SCHEDULES: tuple[ScheduleSpec, ...] = (
    ScheduleSpec("retrain-daily", "score", "rate(1 day)", {"task": "retrain"}),
    ScheduleSpec("score-hourly", "score", "rate(1 hour)", {"task": "score"}),
    # Daily rollups for the dashboard's first screen: every day the lake's commits changed since the
    # last run (late data, erasures), plus missing recent days (reviva.analytics.rollups.run_schedule).
    ScheduleSpec("analytics-rollup", "query", "rate(5 minutes)", {"task": "rollup"}),
    # Snapshot expiry keeps every commit's metadata small (enrich's commit CPU grows with the
    # snapshots kept); compaction keeps Athena's file count down (reviva/adapters/lake/maintenance.py). Both
    # run in the erasure function, the lake's only deleter.
    ScheduleSpec("lake-expiry", "erasure", "rate(5 minutes)", {"task": "lake-expiry"}),
    ScheduleSpec("lake-maintenance", "erasure", "rate(1 hour)", {"task": "lake-maintenance"}),
    # Files no snapshot references (a lost commit race, a manifest merge) are deleted after a day.
    ScheduleSpec("lake-orphans", "erasure", "rate(1 day)", {"task": "lake-orphans"}),
)


STATE_MACHINES: tuple[StateMachineSpec, ...] = (StateMachineSpec("erasure", "erasure", ("erasure",)),)


# The static sites the API's domain serves beside it: URL prefix → folder relative to the repository
# root. CloudFront serves them from the site bucket in AWS (infra/publish_site.py uploads them); the
# local gateway serves them from the working tree. Later issues add theirs here.
STATIC_SITES: dict[str, str] = {
    "/dashboard/": "dashboard/dist",
    "/tracker/": "tracker/dist",
    "/demo/": "demo",
}


def resource_env_name(logical_name: str, suffix: str) -> str:
    """A resource's name variable: "athena-results", "BUCKET" → "ATHENA_RESULTS_BUCKET"."""
    return f"{logical_name.upper().replace('-', '_')}_{suffix}"


def function_spec(name: FunctionName) -> FunctionSpec:
    """Return the declaration of one function."""
    for spec in FUNCTIONS:
        if spec.name == name:
            return spec
    raise KeyError(name)


StoreKind = Literal["table", "bucket", "lake_table", "stream", "queue"]


@dataclass(frozen=True)
class PersonalDataStore:
    """A place that can hold data about a person, and how the erasure workflow reaches it.

    `name` is the store's logical name in its kind's declaration (a `TABLE_MODELS` key, a bucket,
    queue or stream of this module, a lake table). Exactly one of `erasure` (the erasure workflow's
    step that deletes and verifies a subject's data there) or `exemption` (why nothing there needs
    erasing, in words a compliance officer can check) is set. A store added without a line here
    fails `tests/infra/test_personal_data_stores.py`.
    """

    kind: StoreKind
    name: str
    holds: str
    erasure: str | None = None
    exemption: str | None = None


PERSONAL_DATA_STORES: tuple[PersonalDataStore, ...] = (
    PersonalDataStore(
        "table",
        "visitors",
        "profiles (with the open session and the journey), closed sessions, recent message digests",
        erasure="visitor-items",
    ),
    PersonalDataStore(
        "table", "identities", "identity links between a person's keys", erasure="identity-links"
    ),
    PersonalDataStore(
        "table",
        "counters",
        "per-minute live counts with the keys of the visitors active in that minute, the day's "
        "cookieless salts, the stream's watermarks",
        erasure="live-counters",
    ),
    PersonalDataStore(
        "table",
        "rejected",
        "refused messages with masked payloads (keys, pseudonyms)",
        erasure="rejected-items",
    ),
    PersonalDataStore(
        "table",
        "consents",
        "consent decisions: policy version, categories granted and refused, times, source, visitor keys",
        erasure="consent-records",
    ),
    PersonalDataStore("lake_table", "events", "every enriched event of every visitor", erasure="lake-events"),
    PersonalDataStore(
        "lake_table",
        "transactions",
        "the store's purchases by customer pseudonym, linked to visitor keys",
        erasure="lake-transactions",
    ),
    PersonalDataStore(
        "bucket",
        "lake",
        "the lake tables' files; the analytics store (daily rollups, saved funnels, imported spend); "
        "the per-shard notes of unapplied messages",
        exemption="Its files are erased through the lake tables registered here (row-level delete, "
        "rewrite, snapshot expiry, orphan removal). Rollups hold aggregates only and are recomputed "
        "for the affected days; saved funnels and spend hold no data about a person; unapplied-message "
        "notes hold 8-byte one-way digests only, and are emptied as soon as the profiles hold them.",
    ),
    PersonalDataStore(
        "bucket",
        "models",
        "trained model artefacts",
        exemption="Model artefacts hold fitted parameters, no row about a person. (Training extracts "
        "and predictions, when customer intelligence stores them, must be registered with their own step.)",
    ),
    PersonalDataStore(
        "bucket",
        "athena-results",
        "Athena's result files of analytics queries",
        exemption="Analytics answers are aggregates; the files expire after 30 days, within the "
        "30-day legal deadline of an erasure.",
    ),
    PersonalDataStore(
        "bucket",
        "site",
        "the tracker script and the dashboard",
        exemption="Static code and assets only; nothing about a visitor is ever written there.",
    ),
    PersonalDataStore(
        "bucket",
        "access-logs",
        "S3 server access logs",
        exemption="They name the AWS services calling the buckets (CloudFront, the functions), never "
        "a visitor; CloudFront's logs are off (docs/privacy.md, Logs).",
    ),
    PersonalDataStore(
        "stream",
        "events",
        "collected events for 24 hours",
        exemption="Records cannot be deleted from Kinesis; they expire after 24 hours, and the erasure "
        "workflow's suppression list makes enrich drop a subject's records still in the stream.",
    ),
    PersonalDataStore(
        "queue",
        "enrich-dead-letter",
        "pointers to failed batches (shard and sequence numbers)",
        exemption="Lambda puts pointers only there (shard and sequence numbers): no event, key or payload.",
    ),
)
