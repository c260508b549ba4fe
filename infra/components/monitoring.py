"""Operations: CloudWatch alarms on what breaks the pipeline, an SNS topic for them, a dashboard."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import StageConfig
from reviva.topology import EVENTS_STREAM

FIVE_MINUTES = Duration.minutes(5)


class Monitoring(Construct):
    """Alarms: ingest 5xx and latency, iterator age, dead letters, enrich errors and throttles, erasures."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        api: apigw.HttpApi,
        api_stage: apigw.HttpStage,
        ingest: lambda_.Function,
        enrich: lambda_.Function,
        dead_letters: sqs.IQueue,
        erasure: sfn.StateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "Alarms",
            display_name=f"RevivaTech Analytics alarms ({config.stage})",
            master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
            enforce_ssl=True,
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))

        stage_dimensions = {"ApiId": api.api_id, "Stage": api_stage.stage_name}
        server_errors = cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name="5xx",
            dimensions_map=stage_dimensions,
            statistic="Sum",
            period=FIVE_MINUTES,
        )
        latency = cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name="Latency",
            dimensions_map=stage_dimensions,
            statistic="p99",
            period=FIVE_MINUTES,
        )
        iterator_age = enrich.metric("IteratorAge", statistic="Maximum", period=Duration.minutes(1))
        dead_letter_depth = dead_letters.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._alarm(
            "IngestServerErrors", server_errors, 5, "ingest answered 5xx (stream not accepting, or a bug)"
        )
        self._alarm("IngestLatencyP99", latency, 1000, "ingest p99 latency above 1 s")
        self._alarm(
            "IngestFunctionErrors", ingest.metric_errors(period=FIVE_MINUTES), 1, "ingest function errors"
        )
        self._alarm(
            "EnrichIteratorAge",
            iterator_age,
            60_000,
            "enrich is more than a minute behind the stream",
            evaluation_periods=5,
        )
        retention_hours = EVENTS_STREAM.retention_hours
        self._alarm(
            "DeadLetters",
            dead_letter_depth,
            1,
            f"stream batches exhausted their retries: run `reviva replay-failed` within {retention_hours} h"
            " of their arrival, while the stream still holds their records (docs/deploy.md)",
        )
        # The pointers do not hold the records: once the oldest is half the stream's retention old,
        # half the time to replay it is gone. The description says how much is left.
        oldest_pointer = dead_letters.metric_approximate_age_of_oldest_message(
            period=FIVE_MINUTES, statistic="Maximum"
        )
        self._alarm(
            "DeadLetterAge",
            oldest_pointer,
            retention_hours * 3600 / 2,
            f"the oldest failed batch is {retention_hours // 2} h old: its records leave the stream in"
            f" {retention_hours - retention_hours // 2} h; run `reviva replay-failed` now (docs/deploy.md)",
        )
        self._alarm("EnrichErrors", enrich.metric_errors(period=FIVE_MINUTES), 1, "enrich function errors")
        self._alarm("EnrichThrottles", enrich.metric_throttles(period=FIVE_MINUTES), 1, "enrich throttled")
        self._alarm(
            "ErasureFailures", erasure.metric_failed(period=FIVE_MINUTES), 1, "an erasure request failed"
        )
        self._alarm(
            "ErasureTimeouts",
            erasure.metric_timed_out(period=FIVE_MINUTES),
            1,
            "an erasure request timed out",
        )

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"{config.prefix}-pipeline")
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Ingest 5xx and p99 latency", left=[server_errors], right=[latency]),
            cloudwatch.GraphWidget(
                title="Functions: errors and throttles",
                left=[ingest.metric_errors(), enrich.metric_errors(), enrich.metric_throttles()],
            ),
            cloudwatch.GraphWidget(title="Enrich iterator age (ms)", left=[iterator_age]),
            cloudwatch.GraphWidget(
                title="Dead letters and erasures", left=[dead_letter_depth, erasure.metric_failed()]
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24),
        )

    def _alarm(
        self,
        name: str,
        metric: cloudwatch.Metric,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
    ) -> None:
        alarm = metric.create_alarm(
            self,
            name,
            alarm_description=description,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms[name] = alarm
