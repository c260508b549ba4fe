"""`reviva dev`: the whole pipeline on the embedded emulator, behind API Gateway's HTTP paths.

Wiring only: the emulator creates the stack from the topology, the gateway serves the topology's
routes, one poller per shard feeds each stream mapping's consumer, a timer fires the schedules,
the state machines run on the emulator with their Lambda tasks answered by the local handlers, and
optional demo traffic goes through the public HTTP endpoint like any client's.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reviva.aws_clients import client
from reviva.settings import load_settings, reset_settings_cache
from reviva.topology import (
    FUNCTIONS,
    ROUTES,
    SCHEDULES,
    STATIC_SITES,
    STREAM_MAPPINGS,
    ScheduleSpec,
    function_spec,
    rate_seconds,
)
from reviva_dev.local.data_lock import DataDirectoryLock
from reviva_dev.local.emulator import EmulatedResources, Emulator, EnvironmentOverlay
from reviva_dev.local.gateway import (
    LOCAL_ACCOUNT_ID,
    FunctionInvoker,
    Gateway,
    GatewayServer,
    HandlerResolver,
    HandlerUnavailable,
    function_arn,
    import_handler_resolver,
    project_root,
)
from reviva_dev.local.kept_secrets import (
    ADMIN_TOKEN_FILE,
    PSEUDONYMIZATION_KEY_FILE,
    WRITE_KEY_FILE,
    load_or_create_secret,
)
from reviva_dev.local.lambda_bridge import LambdaBridge
from reviva_dev.local.running_stack import RunningStack, publish_running_stack, withdraw_running_stack
from reviva_dev.local.stream_poller import StreamPollers

logger = logging.getLogger("reviva_dev.local.runtime")

DEFAULT_DEMO_DAYS = 28  # four weeks: the default 7-day view compares with a full previous week
DEFAULT_DEMO_SEED = 7


def default_static_mounts(root: Path | None = None) -> dict[str, Path]:
    """The `STATIC_SITES` whose folder exists under the repository root."""
    root = root or project_root()
    return {prefix: root / folder for prefix, folder in STATIC_SITES.items() if (root / folder).is_dir()}


def load_or_create_pseudonymization_key(data_dir: Path) -> str:
    """The local pseudonymization key: generated once, then kept in the data directory.

    Keeping it across runs keeps local pseudonyms stable, like the secret in AWS.
    """
    return load_or_create_secret(data_dir, PSEUDONYMIZATION_KEY_FILE, token_bytes=32)


def scheduled_event(
    schedule: ScheduleSpec,
    *,
    region: str,
    account_id: str = LOCAL_ACCOUNT_ID,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The EventBridge "Scheduled Event" a schedule delivers; `detail` carries its payload."""
    now = now or datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account_id}:rule/reviva-{schedule.logical_name}"],
        "detail": dict(schedule.payload),
    }


class ScheduleTimer(threading.Thread):
    """Fires `rate(...)` schedules at their interval (first run one interval after start)."""

    def __init__(self, schedules: tuple[ScheduleSpec, ...], invoker: FunctionInvoker, region: str) -> None:
        super().__init__(name="schedules", daemon=True)
        self.invoker = invoker
        self.region = region
        self._stop_requested = threading.Event()
        self._next_run: dict[str, float] = {}
        self._schedules: dict[str, tuple[ScheduleSpec, float]] = {}
        for schedule in schedules:
            interval = rate_seconds(schedule.expression)
            if interval is None:
                logger.info("schedule %s (%s) is not run locally", schedule.logical_name, schedule.expression)
                continue
            self._schedules[schedule.logical_name] = (schedule, interval)
            self._next_run[schedule.logical_name] = time.monotonic() + interval

    def run(self) -> None:
        while not self._stop_requested.wait(1.0):
            for name, (schedule, interval) in self._schedules.items():
                if time.monotonic() >= self._next_run[name]:
                    self._next_run[name] = time.monotonic() + interval
                    self.fire(schedule)

    def fire(self, schedule: ScheduleSpec) -> Any:
        """Invoke the schedule's function once; failures are logged (EventBridge would retry)."""
        try:
            return self.invoker.invoke(schedule.function, scheduled_event(schedule, region=self.region))
        except Exception:
            logger.exception("schedule %s failed", schedule.logical_name)
            return None

    def stop(self) -> None:
        self._stop_requested.set()
        if self.is_alive():
            self.join(5)


@dataclass
class RuntimeInfo:
    """What `reviva dev` prints when ready."""

    api_url: str
    write_key: str
    admin_token: str
    static_urls: dict[str, str] = field(default_factory=dict)  # prefix → URL
    state_machines: dict[str, str] = field(default_factory=dict)  # logical name → ARN on the emulator

    @property
    def dashboard_url(self) -> str | None:
        return self.static_urls.get("/dashboard/")


class LocalRuntime:
    """The local stack: emulator, gateway, stream pollers, schedules and optional demo traffic."""

    def __init__(
        self,
        port: int = 8000,
        data_dir: Path = Path(".reviva"),
        write_key: str | None = None,
        admin_token: str | None = None,
        demo: bool = True,
        *,
        demo_visitors: int = 200,
        demo_days: int = DEFAULT_DEMO_DAYS,
        demo_seed: int = DEFAULT_DEMO_SEED,
        host: str = "127.0.0.1",
        static_mounts: Mapping[str, Path] | None = None,
        resolver: HandlerResolver | None = None,
        poll_interval_seconds: float = 0.15,
        warm_up: bool = True,
        emulator_process: bool = False,
    ) -> None:
        self.port = port
        self.data_dir = data_dir
        # Given here or by the environment; else the ones kept in the data directory (set by start()).
        self.write_key = write_key or os.environ.get("REVIVA_WRITE_KEY") or ""
        self.admin_token = admin_token or os.environ.get("REVIVA_ADMIN_TOKEN") or ""
        self.demo = demo
        self.demo_visitors = demo_visitors
        self.demo_days = demo_days
        self.demo_seed = demo_seed
        self.host = host
        self.static_mounts = dict(static_mounts) if static_mounts is not None else default_static_mounts()
        self.resolver = resolver or import_handler_resolver()
        self.poll_interval_seconds = poll_interval_seconds
        self.warm_up = warm_up
        self.environment = EnvironmentOverlay()
        self.data_lock = DataDirectoryLock(data_dir)
        # moto in a process of its own (as `reviva dev` runs it): a second interpreter, so the
        # emulator's half of every AWS call does not queue for this interpreter's lock.
        self.emulator_process = emulator_process
        self.emulator = Emulator(data_dir, separate_process=emulator_process)
        self.resources: EmulatedResources | None = None
        self.invoker: FunctionInvoker | None = None
        self.lambda_bridge: LambdaBridge | None = None
        self.server: GatewayServer | None = None
        self.pollers: list[StreamPollers] = []
        self.schedules: ScheduleTimer | None = None
        self.demo_thread: threading.Thread | None = None
        self.demo_result: Any = None
        self._ready = threading.Event()

    @property
    def ready(self) -> bool:
        """moto up, resources created, pollers running and the gateway listening."""
        return self._ready.is_set()

    def start(self) -> RuntimeInfo:
        """Bring the stack up; returns the URLs and secrets to show. Stops what started on failure."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> RuntimeInfo:
        # The data directory first: a second runtime on it is refused before it touches anything.
        self.data_lock.acquire()
        self.write_key = self.write_key or load_or_create_secret(self.data_dir, WRITE_KEY_FILE)
        self.admin_token = self.admin_token or load_or_create_secret(self.data_dir, ADMIN_TOKEN_FILE)
        # Then bind: a busy port should fail before anything else starts.
        self.invoker = FunctionInvoker(self.resolver, FUNCTIONS)
        gateway = Gateway(ROUTES, self.invoker, {**self.static_mounts, **self._demo_config_mount()})
        self.server = GatewayServer(gateway, self.host, self.port)
        self.port = self.server.port

        self.environment.set(self._secrets_environment())
        if self.emulator_process:
            # State machines call their functions through the emulator's Lambda: the emulator's
            # process forwards those calls here, where the handlers run.
            region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
            self.lambda_bridge = LambdaBridge(self.invoker, region)
            self.emulator.invoke_endpoint = self.lambda_bridge.serve()
            self.emulator.forwarded_functions = tuple(self.lambda_bridge.functions)
        self.resources = self.emulator.start()
        reset_settings_cache()
        settings = load_settings()
        self.invoker.region = settings.aws_region
        gateway.region = settings.aws_region
        if self.lambda_bridge is None:
            # State machines call their functions through the emulator's Lambda: run those here.
            self.lambda_bridge = LambdaBridge(self.invoker, settings.aws_region)
            self.lambda_bridge.install()
        if self.warm_up:
            self._import_handlers()

        for mapping in STREAM_MAPPINGS:
            pollers = StreamPollers(
                kinesis=client("kinesis", settings),
                stream_name=self.resources.streams[mapping.stream],
                # Locally freshness beats write cost: a developer should see their events at once.
                mapping=dataclasses.replace(
                    mapping, max_batching_window_seconds=mapping.local_batching_window_seconds
                ),
                invoke=self.invoker.bind(mapping.function),
                on_failure=self._queue_sender(mapping.on_failure_queue),
                region=settings.aws_region,
                function_arn=function_arn(function_spec(mapping.function), settings.aws_region),
                invoke_identity_arn=f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:role/reviva-{mapping.function}",
                poll_interval_seconds=self.poll_interval_seconds,
            )
            pollers.start()
            self.pollers.append(pollers)

        self.schedules = ScheduleTimer(SCHEDULES, self.invoker, settings.aws_region)
        self.schedules.start()
        self.server.start()
        self._ready.set()
        publish_running_stack(self.data_dir, self._running_stack())
        if self.demo:
            self.demo_thread = threading.Thread(target=self._run_demo, name="demo-traffic", daemon=True)
            self.demo_thread.start()
        return self.info()

    def info(self) -> RuntimeInfo:
        """The public URLs and the secrets a client needs."""
        api_url = f"http://localhost:{self.port}"
        return RuntimeInfo(
            api_url=api_url,
            write_key=self.write_key,
            admin_token=self.admin_token,
            static_urls={prefix: api_url + prefix for prefix in self.static_mounts},
            state_machines=dict(self.resources.state_machines) if self.resources else {},
        )

    def start_execution(self, state_machine: str, execution_input: Any, name: str | None = None) -> str:
        """Start the declared state machine `state_machine` on the emulator; returns the execution ARN.

        The name defaults to a fresh UUID, as in AWS; moto would otherwise leave `$$.Execution.Name`
        empty and refuse a second unnamed execution.
        """
        if self.resources is None:
            raise RuntimeError("the local runtime is not started")
        machine_arn = self.resources.state_machines.get(state_machine)
        if machine_arn is None:
            raise KeyError(f"no state machine named {state_machine!r} in the topology")
        execution = client("stepfunctions", load_settings()).start_execution(
            stateMachineArn=machine_arn, name=name or str(uuid.uuid4()), input=json.dumps(execution_input)
        )
        return str(execution["executionArn"])

    def wait_for_execution(self, execution_arn: str, timeout_seconds: float = 60.0) -> dict[str, Any]:
        """`describe_execution` once the execution has left RUNNING; TimeoutError if it does not in time."""
        sfn = client("stepfunctions", load_settings())
        deadline = time.monotonic() + timeout_seconds
        while True:
            described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                return described
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{execution_arn} is still running after {timeout_seconds} s")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop pollers, schedules, the gateway and moto, and restore the environment."""
        self._ready.clear()
        if self.data_lock.held:
            withdraw_running_stack(self.data_dir)  # first: no command should find a stack going away
        for pollers in self.pollers:
            pollers.stop()
        self.pollers.clear()
        if self.schedules is not None:
            self.schedules.stop()
            self.schedules = None
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.lambda_bridge is not None:
            self.lambda_bridge.uninstall()
            self.lambda_bridge = None
        self.emulator.stop()
        self.environment.restore()
        reset_settings_cache()
        self.data_lock.release()

    def _running_stack(self) -> RunningStack:
        """What `reviva` commands need to reach this stack (see `running_stack`)."""
        return RunningStack(
            api_url=self.info().api_url,
            write_key=self.write_key,
            admin_token=self.admin_token,
            pid=os.getpid(),
            environment={**self.emulator.environment.applied(), **self.environment.applied()},
        )

    def _secrets_environment(self) -> dict[str, str]:
        existing = [k.strip() for k in os.environ.get("REVIVA_WRITE_KEYS", "").split(",") if k.strip()]
        write_keys = ",".join(dict.fromkeys([*existing, self.write_key]))
        pseudonymization_key = os.environ.get(
            "REVIVA_PSEUDONYMIZATION_KEY"
        ) or load_or_create_pseudonymization_key(self.data_dir)
        return {
            "REVIVA_STAGE": "local",
            "REVIVA_WRITE_KEYS": write_keys,
            "REVIVA_WRITE_KEY": self.write_key,
            "REVIVA_ADMIN_TOKEN": self.admin_token,
            "REVIVA_PSEUDONYMIZATION_KEY": pseudonymization_key,
            "POWERTOOLS_SERVICE_NAME": os.environ.get("POWERTOOLS_SERVICE_NAME", "reviva-local"),
            "POWERTOOLS_METRICS_NAMESPACE": os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "RevivaLocal"),
            # No X-Ray daemon locally.
            "POWERTOOLS_TRACE_DISABLED": "true",
            # Keep the terminal to the ready line: metrics and info logs only when asked (`-v`).
            "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
        }

    def _demo_config_mount(self) -> dict[str, Path]:
        """Serve `/demo/config/config.js` (the demo's write key) from the data directory, not the repo."""
        if "/demo/" not in self.static_mounts:
            return {}
        folder = self.data_dir / "demo-config"
        folder.mkdir(parents=True, exist_ok=True)
        config = json.dumps({"writeKey": self.write_key})
        (folder / "config.js").write_text(f"window.REVIVA_DEMO = {config};\n")
        return {"/demo/config/": folder}

    def _import_handlers(self) -> None:
        """Start one environment of every function now (a cold start up front); say which cannot load."""
        assert self.invoker is not None
        for spec in FUNCTIONS:
            try:
                self.invoker.warm(spec.name)
            except HandlerUnavailable as error:
                logger.warning("function %s is unavailable: %s", spec.name, error)

    def _queue_sender(self, logical_queue: str) -> Callable[[dict[str, Any]], None]:
        assert self.resources is not None
        queue_url = self.resources.queue_urls[logical_queue]
        sqs = client("sqs", load_settings())

        def send(message: dict[str, Any]) -> None:
            sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(message))

        return send

    def _run_demo(self) -> None:
        try:
            from reviva_dev.simulate import run_simulation
        except ImportError as error:
            logger.warning("demo traffic is unavailable (reviva_dev.simulate cannot be imported: %s)", error)
            return
        try:
            self.demo_result = run_simulation(
                endpoint=f"http://127.0.0.1:{self.port}",
                write_key=self.write_key,
                visitors=self.demo_visitors,
                days=self.demo_days,
                seed=self.demo_seed,
                progress=False,
            )
            logger.info("demo traffic sent")
        except Exception:
            if self.ready:
                logger.exception("demo traffic failed")
