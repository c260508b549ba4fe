"""The scoring stage (the score function, ML layer) and the EventBridge schedules from the topology."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.components.data import LAKE_NAMESPACE, LAKE_TABLE, DataStores
from infra.components.functions import PipelineFunction
from infra.components.permissions import (
    ATHENA_QUERY,
    GLUE_READ,
    OBJECT_READ,
    OBJECT_WRITE,
    TABLE_READ,
    TABLE_WRITE,
    allow_objects,
    allow_table,
)
from infra.components.topology_tags import mark
from infra.config import StageConfig
from reviva.analytics.config import AnalyticsSettings
from reviva.settings import Settings, env_name
from reviva.topology import SCHEDULES, ScheduleSpec, function_spec


def scheduled_event_input(schedule: ScheduleSpec) -> events.RuleTargetInput:
    """The standard "Scheduled Event" with the schedule's payload as `detail`.

    EventBridge would deliver `detail: {}`; the input transformer keeps every other field of the
    event it received and puts the payload in `detail`, the same shape the local runtime sends
    (`reviva_dev.local.runtime.scheduled_event`).
    """
    return events.RuleTargetInput.from_object(
        {
            "version": events.EventField.from_path("$.version"),
            "id": events.EventField.from_path("$.id"),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": events.EventField.account,
            "time": events.EventField.time,
            "region": events.EventField.region,
            "resources": events.EventField.from_path("$.resources"),
            "detail": dict(schedule.payload),
        }
    )


class ScoringStage(Construct):
    """Retrains models into the models bucket and scores visitors on the topology's schedules."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        layers: Sequence[lambda_.ILayerVersion],
        data: DataStores,
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = PipelineFunction(
            self,
            "Score",
            spec=function_spec("score"),
            config=config,
            layers=layers,
            environment={
                **data.table_environment("visitors", "identities"),
                env_name(AnalyticsSettings, "athena_workgroup"): data.workgroup.name,
                env_name(Settings, "lake_namespace"): LAKE_NAMESPACE,
                env_name(Settings, "lake_table"): LAKE_TABLE,
            },
        )
        handler = self.handler
        mark(handler.function, "function", "score")
        allow_table(handler, data.tables["visitors"], TABLE_READ, TABLE_WRITE)
        allow_table(handler, data.tables["identities"], TABLE_READ)
        allow_objects(handler, data.buckets["models"], OBJECT_READ, OBJECT_WRITE)
        allow_objects(handler, data.buckets["lake"], OBJECT_READ, prefix="warehouse/")
        allow_objects(handler, data.buckets["athena-results"], OBJECT_READ, OBJECT_WRITE, prefix="results/")
        handler.allow(list(GLUE_READ), data.glue_arns())
        handler.allow(list(ATHENA_QUERY), [data.workgroup_arn()])


class ScheduleRules(Construct):
    """One EventBridge rule per `SCHEDULES` entry, targeting the function it names."""

    def __init__(
        self, scope: Construct, construct_id: str, *, functions: dict[str, lambda_.IFunction]
    ) -> None:
        super().__init__(scope, construct_id)
        self.rules: dict[str, events.Rule] = {}
        for schedule in SCHEDULES:
            rule = events.Rule(
                self,
                "".join(p.title() for p in schedule.logical_name.split("-")),
                description=f"{schedule.logical_name}: {schedule.payload}",
                schedule=events.Schedule.expression(schedule.expression),
                targets=[
                    targets.LambdaFunction(
                        functions[schedule.function],
                        event=scheduled_event_input(schedule),
                        retry_attempts=2,
                        max_event_age=Duration.hours(1),
                    )
                ],
            )
            mark(rule, "schedule", schedule.logical_name)
            self.rules[schedule.logical_name] = rule
