"""The lake's `events` table, created at deploy time by the pipeline's own code (see infra/handlers)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, IgnoreMode, Stack, triggers
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.components.data import DataStores
from infra.components.functions import ARCHITECTURE, REPO_ROOT, RUNTIME
from infra.components.nag import acknowledge
from infra.components.permissions import BUCKET_LIST, GLUE_READ, GLUE_WRITE, OBJECT_READ, OBJECT_WRITE
from infra.config import StageConfig
from reviva.settings import Settings, env_name

# CDK's id of the trigger provider that lives at the stack's root.
TRIGGER_PROVIDER_ID = "AWSCDK.TriggerCustomResourceProviderCustomResourceProvider"


def handler_code() -> lambda_.Code:
    """infra/handlers/ and reviva/ only."""
    return lambda_.Code.from_asset(
        str(REPO_ROOT),
        exclude=[
            "*",
            ".*",
            "!reviva",
            "!reviva/**",
            "!infra",
            "!infra/handlers",
            "!infra/handlers/**",
            "**/__pycache__",
            "**/*.pyc",
            "**/tests",
        ],
        ignore_mode=IgnoreMode.GLOB,
    )


class LakeTable(Construct):
    """Runs `ensure_events_table` after the Glue database and the lake bucket exist, on every deploy."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        data: DataStores,
        layers: Sequence[lambda_.ILayerVersion],
    ) -> None:
        super().__init__(scope, construct_id)
        log_group = logs.LogGroup(
            self, "Logs", retention=config.log_retention, removal_policy=config.removal_policy
        )
        role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            )
        )
        role.add_to_policy(iam.PolicyStatement(actions=[*GLUE_READ, *GLUE_WRITE], resources=data.glue_arns()))
        lake = data.buckets["lake"]
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[*OBJECT_READ, *OBJECT_WRITE], resources=[lake.arn_for_objects("warehouse/*")]
            )
        )
        role.add_to_policy(iam.PolicyStatement(actions=list(BUCKET_LIST), resources=[lake.bucket_arn]))
        lake_id = Stack.of(self).get_logical_id(lake.node.default_child)  # type: ignore[arg-type]
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::<{lake_id}.Arn>/warehouse/*]",
            "Iceberg metadata files get generated names; access stays inside the lake's warehouse prefix.",
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description="Creates the Iceberg events table (deploy time)",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler="infra.handlers.lake_table.handler",
            code=handler_code(),
            layers=list(layers),
            memory_size=1024,
            timeout=Duration.minutes(2),
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            environment={**data.lake_environment(), env_name(Settings, "stage"): config.stage},
        )
        self.trigger = triggers.Trigger(
            self,
            "Run",
            handler=self.function,
            execute_after=[data.glue_database, lake],
            execute_on_handler_change=True,
            timeout=Duration.minutes(3),
        )
