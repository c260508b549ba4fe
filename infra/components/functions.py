"""A pipeline function built from its `FunctionSpec`: code asset, layers, logs, tracing, own role."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import StageConfig
from reviva.settings import Settings, env_name
from reviva.topology import FunctionSpec

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNTIME = lambda_.Runtime.PYTHON_3_14  # layers/build.py builds wheels for the same CPython
ARCHITECTURE = lambda_.Architecture.ARM_64
METRICS_NAMESPACE = "RevivaAnalytics"


# Caches change the asset hash on every run and are dead weight; tests never ship.
ASSET_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "tests")


def stage_function_source(spec: FunctionSpec, into: Path) -> Path:
    """Copy exactly what the function ships into `into`: its own folder and the shared package.

    Staging a small directory (rather than fingerprinting the repository root through exclude
    globs) keeps synth from walking the virtualenv and node_modules, and from racing anything else
    that writes into the working tree while it runs.
    """
    folder = spec.handler_module.rsplit(".", 1)[0].replace(".", "/")  # "functions/ingest"
    if into.exists():
        shutil.rmtree(into)
    shutil.copytree(REPO_ROOT / "reviva", into / "reviva", ignore=ASSET_IGNORE)
    shutil.copytree(REPO_ROOT / folder, into / folder, ignore=ASSET_IGNORE)
    return into


def function_code(spec: FunctionSpec) -> lambda_.Code:
    """The function's asset: `functions/<name>/` plus `reviva/`, nothing else."""
    staged = stage_function_source(spec, Path(tempfile.mkdtemp(prefix=f"reviva-{spec.name}-")) / "src")
    return lambda_.Code.from_asset(str(staged))


class PipelineFunction(Construct):
    """One Lambda function with JSON logs (retention), X-Ray, Powertools settings and its own role.

    The role starts with nothing but writing to the function's own log group (and X-Ray, which has no
    resource-level permissions); the stage that owns the function grants exactly what it uses.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: FunctionSpec,
        config: StageConfig,
        layers: Sequence[lambda_.ILayerVersion],
        environment: Mapping[str, str],
        reserved_concurrency: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{config.prefix} {spec.name} function: least privilege",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=f"RevivaTech Analytics {spec.name} ({config.stage})",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=f"{spec.handler_module}.handler",
            code=function_code(spec),
            layers=list(layers),
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_seconds),
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            # Log volume is billed per GB ingested: see StageConfig for why these levels.
            application_log_level_v2=lambda_.ApplicationLogLevel[config.application_log_level],
            system_log_level_v2=lambda_.SystemLogLevel[config.system_log_level],
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=(
                reserved_concurrency if reserved_concurrency is not None else spec.reserved_concurrency
            ),
            environment={
                env_name(Settings, "stage"): config.stage,
                "POWERTOOLS_SERVICE_NAME": f"reviva-{spec.name}",
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": config.powertools_log_level,
                "POWERTOOLS_LOGGER_LOG_EVENT": "false",
                "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
                "POWERTOOLS_DEV": "false",
                **environment,
            },
        )

    def add_environment(self, name: str, value: str) -> None:
        """Tell the function where a resource is."""
        self.function.add_environment(name, value)

    def allow(self, actions: Sequence[str], resources: Sequence[str]) -> None:
        """Grant exactly these actions on exactly these resources."""
        self.role.add_to_policy(iam.PolicyStatement(actions=list(actions), resources=list(resources)))
