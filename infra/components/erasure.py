"""The erasure stage: the erasure function and the Step Functions state machine from `reviva.workflows`."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.components.data import DataStores
from infra.components.functions import PipelineFunction
from infra.components.nag import acknowledge
from infra.components.permissions import (
    GLUE_READ,
    GLUE_WRITE,
    OBJECT_DELETE,
    OBJECT_READ,
    OBJECT_WRITE,
    TABLE_DELETE,
    TABLE_READ,
    allow_objects,
    allow_secrets,
    allow_table,
)
from infra.components.secrets import PipelineSecrets
from infra.components.topology_tags import mark
from infra.config import StageConfig
from reviva.topology import STATE_MACHINES, function_spec
from reviva.workflows import definition_text, function_substitutions


class ErasureStage(Construct):
    """Deletes one data subject from every store; the state machine orders and audits the steps."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        layers: Sequence[lambda_.ILayerVersion],
        data: DataStores,
        secrets: PipelineSecrets,
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = PipelineFunction(
            self,
            "Erasure",
            spec=function_spec("erasure"),
            config=config,
            layers=layers,
            environment={
                **data.table_environment("visitors", "identities", "counters", "rejected"),
                **data.lake_environment(),
                **secrets.arn_environment("pseudonymization_key"),
            },
        )
        handler = self.handler
        mark(handler.function, "function", "erasure")
        for logical in ("visitors", "identities", "rejected"):
            allow_table(handler, data.tables[logical], TABLE_READ, TABLE_DELETE)
        allow_objects(
            handler, data.buckets["lake"], OBJECT_READ, OBJECT_WRITE, OBJECT_DELETE, prefix="warehouse/"
        )
        allow_objects(handler, data.buckets["models"], OBJECT_READ, OBJECT_DELETE)
        handler.allow([*GLUE_READ, *GLUE_WRITE], data.glue_arns())
        allow_secrets(handler, secrets.pseudonymization_key)

        self.state_machines: dict[str, sfn.StateMachine] = {}
        for spec in STATE_MACHINES:
            # The same binding rule the local runtime uses (one-topology test compares the two).
            substitutions = function_substitutions(spec, {"erasure": handler.function.function_arn})
            log_group = logs.LogGroup(
                self,
                f"{spec.logical_name.title()}Logs",
                retention=config.log_retention,
                removal_policy=config.removal_policy,
            )
            machine = sfn.StateMachine(
                self,
                f"{spec.logical_name.title()}StateMachine",
                definition_body=sfn.DefinitionBody.from_string(definition_text(spec.definition)),
                definition_substitutions=substitutions,
                state_machine_type=sfn.StateMachineType.STANDARD,
                tracing_enabled=True,
                logs=sfn.LogOptions(
                    destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False
                ),
            )
            for name in spec.functions:
                if name != "erasure":
                    raise ValueError(
                        f"state machine {spec.logical_name} calls {name}, which this stage does not own"
                    )
                handler.function.grant_invoke(machine)
            acknowledge(
                machine.role,
                "AwsSolutions-IAM5[Resource::*]",
                "CloudWatch Logs delivery and X-Ray actions of Step Functions support no resource-level "
                "permissions.",
            )
            acknowledge(
                machine.role,
                f"AwsSolutions-IAM5[Resource::<{_logical_id(handler.function)}.Arn>:*]",
                "Invoking any version or alias of this one erasure function.",
            )
            mark(machine, "statemachine", spec.logical_name)
            # "${ErasureFunctionArn}" is bound by DefinitionSubstitutions, which cfn-lint's E1029 ignores.
            machine.node.default_child.add_metadata(  # type: ignore[union-attr]
                "cfn-lint", {"config": {"ignore_checks": ["E1029"]}}
            )
            self.state_machines[spec.logical_name] = machine


def _logical_id(function: lambda_.Function) -> str:
    from aws_cdk import Stack

    return Stack.of(function).get_logical_id(function.node.default_child)  # type: ignore[arg-type]
