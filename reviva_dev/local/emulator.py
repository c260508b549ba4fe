"""The embedded AWS emulator: moto's server in this process, with the stack's resources in it.

Every resource is created from the declarations in `reviva.topology` and the table models in
`reviva.adapters.dynamodb.tables`; nothing is named or wired here by hand. The environment variables the
handlers read (endpoint, credentials, resource names) are set for this process and restored on
`stop()`.

Functions exist on the emulator's Lambda so that their ARNs are real there: the state machines are
created from the definitions CDK deploys, bound to those ARNs. The code behind them runs in this
process (`reviva_dev.local.lambda_bridge`), never inside moto.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import os
import selectors
import subprocess
import sys
import urllib.request
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from reviva.adapters.dynamodb.tables import create_tables
from reviva.aws_clients import client
from reviva.settings import Settings, load_settings, reset_settings_cache
from reviva.topology import (
    BUCKETS,
    EVENTS_STREAM,
    FUNCTIONS,
    QUEUES,
    STATE_MACHINES,
    STREAM_MAPPINGS,
    FunctionSpec,
    StateMachineSpec,
    resource_env_name,
)
from reviva.workflows import function_substitutions, render_definition
from reviva_dev.local.gateway import physical_function_name
from reviva_dev.local.moto_kinesis import install_shard_locks
from reviva_dev.local.moto_queries import install_partition_query
from reviva_dev.local.moto_transactions import install_transaction_undo_log

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

logger = logging.getLogger("reviva_dev.local.emulator")

RESOURCE_PREFIX = "reviva-"
Middleware = TypeVar("Middleware", bound="WSGIApplication")
CATALOG_FILE = "catalog.db"
# moto's import and server start, on a busy machine.
EMULATOR_PROCESS_START_SECONDS = 120.0


class EnvironmentOverlay:
    """Sets environment variables and puts the previous values back on `restore()`."""

    def __init__(self) -> None:
        self._previous: dict[str, str | None] = {}

    def set(self, values: Mapping[str, str]) -> None:
        """Set each variable, remembering its value before the first change."""
        for name, value in values.items():
            self._previous.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def applied(self) -> dict[str, str]:
        """The current value of every variable this overlay has set (and not restored)."""
        return {name: os.environ[name] for name in self._previous if name in os.environ}

    def restore(self) -> None:
        """Undo every change made through this overlay."""
        for name, value in self._previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._previous.clear()


def stream_name(logical_name: str, settings: Settings) -> str:
    """The physical name of a stream: the settings name for the events stream."""
    return (
        settings.events_stream
        if logical_name == EVENTS_STREAM.logical_name
        else RESOURCE_PREFIX + logical_name
    )


def bucket_name(logical_name: str, settings: Settings) -> str:
    """The physical name of a bucket: the settings name for the lake."""
    return settings.lake_bucket if logical_name == "lake" else RESOURCE_PREFIX + logical_name


def queue_name(logical_name: str) -> str:
    """The physical name of a queue."""
    return RESOURCE_PREFIX + logical_name


def state_machine_name(logical_name: str) -> str:
    """The physical name of a state machine."""
    return RESOURCE_PREFIX + logical_name


def function_role_name(spec: FunctionSpec) -> str:
    """The execution role of a function (the identity its stream mapping's records name)."""
    return physical_function_name(spec)


def state_machine_role_name(logical_name: str) -> str:
    """The role a state machine runs as."""
    return f"{RESOURCE_PREFIX}{logical_name}-state-machine"


def _trust_policy(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def ensure_role(iam: Any, name: str, service: str) -> str:
    """The ARN of role `name`, created (trusting `service`) unless it exists."""
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        created = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust_policy(service))
        return str(created["Role"]["Arn"])


def _placeholder_code() -> bytes:
    """A deployment package that is never run: the local runtime runs the handler in its own process."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as package:
        package.writestr("README.txt", "The local runtime runs this function's handler in process.\n")
    return archive.getvalue()


def create_functions(settings: Settings, specs: tuple[FunctionSpec, ...] = FUNCTIONS) -> dict[str, str]:
    """Create (or keep) every function on the emulator's Lambda; returns name → ARN."""
    iam = client("iam", settings)
    lambda_ = client("lambda", settings)
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"  # the interpreter handlers run on
    arns: dict[str, str] = {}
    for spec in specs:
        name = physical_function_name(spec)
        try:
            arns[spec.name] = lambda_.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
            continue
        except lambda_.exceptions.ResourceNotFoundException:
            pass
        role = ensure_role(iam, function_role_name(spec), "lambda.amazonaws.com")
        arns[spec.name] = lambda_.create_function(
            FunctionName=name,
            Runtime=runtime,
            Role=role,
            Handler=f"{spec.handler_module}.handler",
            Code={"ZipFile": _placeholder_code()},
            MemorySize=spec.memory_mb,
            Timeout=spec.timeout_seconds,
        )["FunctionArn"]
    return arns


def create_state_machines(
    settings: Settings,
    function_arns: Mapping[str, str],
    specs: tuple[StateMachineSpec, ...] = STATE_MACHINES,
) -> dict[str, str]:
    """Create (or update) every state machine from its definition and the functions' ARNs.

    The definition and its substitutions are the ones CDK deploys (`reviva.workflows`), so an
    execution here walks the states AWS would. Returns logical name → state machine ARN.
    """
    iam = client("iam", settings)
    sfn = client("stepfunctions", settings)
    existing: dict[str, str] = {}
    for page in sfn.get_paginator("list_state_machines").paginate():
        existing.update({machine["name"]: machine["stateMachineArn"] for machine in page["stateMachines"]})
    arns: dict[str, str] = {}
    for spec in specs:
        definition = render_definition(spec.definition, function_substitutions(spec, function_arns))
        role = ensure_role(iam, state_machine_role_name(spec.logical_name), "states.amazonaws.com")
        name = state_machine_name(spec.logical_name)
        if name in existing:
            sfn.update_state_machine(stateMachineArn=existing[name], definition=definition, roleArn=role)
            arns[spec.logical_name] = existing[name]
        else:
            arns[spec.logical_name] = sfn.create_state_machine(
                name=name, definition=definition, roleArn=role, type="STANDARD"
            )["stateMachineArn"]
    return arns


@dataclass
class EmulatedResources:
    """What the emulator created, by logical name."""

    endpoint_url: str
    streams: dict[str, str] = field(default_factory=dict)  # logical → name
    stream_arns: dict[str, str] = field(default_factory=dict)  # logical → ARN
    queue_urls: dict[str, str] = field(default_factory=dict)  # logical → URL
    buckets: dict[str, str] = field(default_factory=dict)  # logical → name
    tables: list[str] = field(default_factory=list)
    functions: dict[str, str] = field(default_factory=dict)  # function name (topology) → ARN
    state_machines: dict[str, str] = field(default_factory=dict)  # logical → ARN


def quiet_moto_logs() -> None:
    """Keep moto's and werkzeug's per-request logging out of the terminal."""
    # werkzeug logs every request at INFO unless its logger already has a level.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # moto's Step Functions logs every failed state with its whole parse tree at ERROR; the
    # execution's history (`get_execution_history`) records the same failure readably.
    parser_logger = logging.getLogger("moto.stepfunctions.parser")
    if parser_logger.level == logging.NOTSET:
        parser_logger.setLevel(logging.CRITICAL)


def speed_up_moto(server: Any) -> None:
    """The patches every emulator gets: memoized lookups, DynamoDB transactions by undo log,
    queries reading one partition, and Kinesis shards written and read one thread at a time."""
    memoize_backend_lookup(getattr(server._server, "app", None))
    memoize_action_lookup()
    install_transaction_undo_log()
    install_partition_query()
    install_shard_locks()


class Emulator:
    """moto's server on 127.0.0.1 at a free port, holding the whole stack.

    By default moto runs in this process (`ThreadedMotoServer`), where tools can reach its state and
    requests (`wrap_app`, `cost`'s metering). With `separate_process`, moto runs in a child process
    (`reviva_dev.local.emulator_process`) so that it does not share this interpreter's lock with the
    handlers; `invoke_endpoint` is then where the child forwards Lambda Invoke calls for
    `forwarded_functions` (the runtime's `LambdaBridge.serve`).
    """

    def __init__(
        self,
        data_dir: Path,
        host: str = "127.0.0.1",
        *,
        separate_process: bool = False,
        invoke_endpoint: str | None = None,
        forwarded_functions: tuple[str, ...] = (),
    ) -> None:
        self.data_dir = data_dir
        self.host = host
        self.separate_process = separate_process
        self.invoke_endpoint = invoke_endpoint
        self.forwarded_functions = forwarded_functions
        self.environment = EnvironmentOverlay()
        self.resources: EmulatedResources | None = None
        self._server: Any = None
        self._process: subprocess.Popen[str] | None = None

    @property
    def endpoint_url(self) -> str:
        if self.resources is None:
            raise RuntimeError("the emulator is not started")
        return self.resources.endpoint_url

    def start(self) -> EmulatedResources:
        """Start moto, point this process's AWS SDK at it and create every resource."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.separate_process:
            host, port = self.host, self._start_process()
        else:
            from moto.server import ThreadedMotoServer

            quiet_moto_logs()
            server = ThreadedMotoServer(ip_address=self.host, port=0, verbose=False)
            server.start()
            self._server = server
            speed_up_moto(server)
            host, port = server.get_host_and_port()
        endpoint_url = f"http://{host}:{port}"
        try:
            self._point_sdk_at(endpoint_url, port)
            # moto's backends are process-wide: start from an empty account every time.
            _moto_api(endpoint_url, "reset", None)
            _moto_api(endpoint_url, "config", {"stepfunctions": {"execute_state_machine": True}})
            self.resources = self._create_resources(endpoint_url)
        except Exception:
            self.stop()
            raise
        return self.resources

    def wrap_app(self, middleware: Callable[[WSGIApplication], Middleware]) -> Middleware:
        """Put `middleware(app)` in front of the server's WSGI app and return it (it sees every
        request the emulator receives, e.g. to count the lake bucket's S3 requests); it stays until
        `stop()`. Wrapping again wraps the wrapped app."""
        if self._server is None:
            raise RuntimeError(
                "the emulator runs in a separate process" if self._process else "the emulator is not started"
            )
        # moto's ThreadedMotoServer offers no way to add middleware; its werkzeug server (`_server`,
        # the one `stop()` closes) serves whatever `app` holds at each request.
        wsgi_server = self._server._server
        wrapped = middleware(wsgi_server.app)
        wsgi_server.app = wrapped
        return wrapped

    def stop(self) -> None:
        """Stop moto (all state is lost) and restore the environment."""
        process, self._process = self._process, None
        if process is not None:
            _stop_process(process)
        server, self._server = self._server, None
        if server is not None:
            server.stop()
            # ThreadedMotoServer.stop() shuts the loop down but leaves the socket open.
            inner = getattr(server, "_server", None)
            if inner is not None:
                inner.server_close()
        self.environment.restore()
        reset_settings_cache()
        self.resources = None

    def _start_process(self) -> int:
        """Start moto in a child process; returns the port it listens on."""
        command = [sys.executable, "-m", "reviva_dev.local.emulator_process"]
        if self.invoke_endpoint:
            command += ["--invoke-endpoint", self.invoke_endpoint]
        if self.forwarded_functions:
            command += ["--functions", ",".join(self.forwarded_functions)]
        # Its standard input is its lifeline: closed when this process stops it or exits.
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._process = process
        assert process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        line = process.stdout.readline() if selector.select(EMULATOR_PROCESS_START_SECONDS) else ""
        selector.close()
        if not line.startswith("port "):
            self.stop()
            raise RuntimeError(f"the emulator process did not start: {line!r}")
        return int(line.split()[1])

    def _point_sdk_at(self, endpoint_url: str, port: int) -> None:
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        catalog = self.data_dir.resolve() / CATALOG_FILE
        # moto's state lives as long as this process: a catalog from an earlier run would point
        # at lake files that no longer exist.
        catalog.unlink(missing_ok=True)
        self.environment.set(
            {
                "AWS_ENDPOINT_URL": endpoint_url,
                # Fake credentials: requests to the emulator must never be signed with real ones.
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_SESSION_TOKEN": "local",
                "AWS_REGION": region,
                "AWS_DEFAULT_REGION": region,
                # Step Functions SDK tasks run inside moto and call back to this port.
                "MOTO_PORT": str(port),
                "LAKE_CATALOG": "sql",
                "LAKE_CATALOG_URI": f"sqlite:///{catalog}",
            }
        )
        os.environ.pop("AWS_PROFILE", None)
        reset_settings_cache()

    def _create_resources(self, endpoint_url: str) -> EmulatedResources:
        settings = load_settings()
        resources = EmulatedResources(endpoint_url=endpoint_url)
        exported: dict[str, str] = {}

        kinesis = client("kinesis", settings)
        stream_logical_names = {EVENTS_STREAM.logical_name, *(m.stream for m in STREAM_MAPPINGS)}
        for logical in sorted(stream_logical_names):
            name = stream_name(logical, settings)
            kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
            kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1})
            summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
            resources.streams[logical] = name
            resources.stream_arns[logical] = summary["StreamARN"]
            exported[resource_env_name(logical, "STREAM")] = name

        create_tables(settings)
        resources.tables = [
            settings.visitors_table,
            settings.identities_table,
            settings.counters_table,
            settings.rejected_table,
        ]

        sqs = client("sqs", settings)
        for queue in QUEUES:
            retention = min(queue.retention_days * 86_400, 1_209_600)  # SQS keeps at most 14 days
            url = sqs.create_queue(
                QueueName=queue_name(queue.logical_name),
                Attributes={"MessageRetentionPeriod": str(retention)},
            )["QueueUrl"]
            resources.queue_urls[queue.logical_name] = url
            exported[resource_env_name(queue.logical_name, "QUEUE_URL")] = url
        for mapping in STREAM_MAPPINGS:
            # The consumer's on-failure destination is the dead-letter queue the settings name.
            if mapping.on_failure_queue in resources.queue_urls:
                exported["DEAD_LETTER_QUEUE_URL"] = resources.queue_urls[mapping.on_failure_queue]

        s3 = client("s3", settings)
        for bucket in BUCKETS:
            name = bucket_name(bucket.logical_name, settings)
            create_args: dict[str, Any] = {"Bucket": name}
            if settings.aws_region != "us-east-1":
                create_args["CreateBucketConfiguration"] = {"LocationConstraint": settings.aws_region}
            s3.create_bucket(**create_args)
            resources.buckets[bucket.logical_name] = name
            exported[resource_env_name(bucket.logical_name, "BUCKET")] = name

        resources.functions = create_functions(settings)
        resources.state_machines = create_state_machines(settings, resources.functions)

        self.environment.set(exported)
        reset_settings_cache()
        _create_lake_table(load_settings())
        logger.info("emulated stack ready at %s", endpoint_url)
        return resources


def _create_lake_table(settings: Settings) -> None:
    """Create the lake's `events` table, as the deploy's custom resource does before any event.

    Otherwise the first enrich batches create it (each shard racing to), inside the first requests.
    """
    from reviva.adapters.lake.catalog import ensure_events_table, load_lake_catalog

    ensure_events_table(load_lake_catalog(settings), settings)


def _stop_process(process: subprocess.Popen[str]) -> None:
    """Close the child's lifeline and wait for it; kill it if it does not go."""
    with contextlib.suppress(OSError):
        if process.stdin is not None:
            process.stdin.close()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()


# Distinct hosts moto's dispatcher resolves: a few per service and region the stack uses.
BACKEND_LOOKUP_CACHE_SIZE = 1024


def memoize_backend_lookup(dispatcher: Any) -> None:
    """Make moto's host → backend lookup a dictionary hit after the first request of each host.

    moto's `DomainDispatcherApplication` resolves every request's host by listing its own package
    directory (a `stat` per service, some 300) and then trying each service's URL patterns, all
    under one lock that every request of the emulator takes: under load that was about 8% of the
    local stack's CPU. The answer depends only on the host string and moto's installed files,
    so remembering it changes no answer.
    """
    lookup = getattr(dispatcher, "get_backend_for_host", None)
    if lookup is None or hasattr(lookup, "cache_info"):  # not moto's dispatcher, or memoized already
        return
    # An instance attribute shadows the class's method for this one dispatcher only.
    dispatcher.get_backend_for_host = functools.lru_cache(maxsize=BACKEND_LOOKUP_CACHE_SIZE)(lookup)


def memoize_action_lookup() -> None:
    """Make moto's "which actions does this service answer" a dictionary hit per response class.

    moto lists a response class's methods with `inspect.getmembers` on every request (about 2% of
    the local stack's CPU under load); a class's methods do not change while the emulator runs.
    """
    from moto.core import responses

    names = responses.method_names_from_class
    if not hasattr(names, "cache_info"):
        responses.method_names_from_class = functools.cache(names)  # type: ignore[assignment]


def _moto_api(endpoint_url: str, action: str, payload: dict[str, Any] | None) -> None:
    """Call moto's own API: "reset" empties every backend, "config" turns on Step Functions execution."""
    request = urllib.request.Request(
        f"{endpoint_url}/moto-api/{action}",
        data=json.dumps(payload or {}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    # No proxies: the emulator is on loopback whatever the environment says.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        response.read()
