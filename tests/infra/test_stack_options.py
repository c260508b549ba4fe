"""Template assertions on the options the main synth leaves off (one second synth per session):
no custom API domain, enhanced fan-out, provisioned Kinesis, a longer batching window, the dev stage's
log level."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App

from infra.config import stage_config
from reviva.origin_verify import ORIGIN_VERIFY_HEADER
from reviva.topology import FUNCTIONS, STREAM_MAPPINGS
from tests.infra.conftest import OPTIONS_CONTEXT, Synthesized
from tests.infra.test_stack import as_list, by_marker


def test_enhanced_fan_out_gives_enrich_its_own_consumer_and_the_mapping_reads_through_it(
    synthesized_options: Synthesized,
) -> None:
    consumers = synthesized_options.resources("AWS::Kinesis::StreamConsumer")
    for spec in STREAM_MAPPINGS:
        stream_id, _ = by_marker(synthesized_options, f"stream/{spec.stream}")
        (consumer_id,) = [
            k
            for k, v in consumers.items()
            if v["Properties"]["StreamARN"] == {"Fn::GetAtt": [stream_id, "Arn"]}
        ]
        _, mapping = by_marker(synthesized_options, f"mapping/{spec.stream}->{spec.function}")
        props = mapping["Properties"]
        assert props["EventSourceArn"] == {"Fn::GetAtt": [consumer_id, "ConsumerARN"]}
        # Everything else about the mapping is as declared, fan-out or not.
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["BatchSize"] == spec.batch_size
        assert props["MaximumRetryAttempts"] == spec.maximum_retry_attempts
        assert props["DestinationConfig"]["OnFailure"]["Destination"]
        _, function = by_marker(synthesized_options, f"function/{spec.function}")
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        subscribe = [
            s
            for policy in synthesized_options.resources("AWS::IAM::Policy").values()
            if {"Ref": role} in policy["Properties"]["Roles"]
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
            if "kinesis:SubscribeToShard" in as_list(s["Action"])
        ]
        # Enhanced fan-out pushes through the consumer: the role must subscribe to shards through it.
        assert [{"Fn::GetAtt": [consumer_id, "ConsumerARN"]}] in [as_list(s["Resource"]) for s in subscribe]


def test_kinesis_shards_switch_the_stream_to_provisioned_mode(synthesized_options: Synthesized) -> None:
    _, stream = by_marker(synthesized_options, "stream/events")
    props = stream["Properties"]
    assert props["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert props["ShardCount"] == int(OPTIONS_CONTEXT["kinesisShards"])
    assert props["StreamEncryption"]["EncryptionType"] == "KMS"


def test_the_batching_window_option_sets_the_enrich_mapping_window(synthesized_options: Synthesized) -> None:
    for spec in STREAM_MAPPINGS:
        _, mapping = by_marker(synthesized_options, f"mapping/{spec.stream}->{spec.function}")
        window = int(OPTIONS_CONTEXT["batchingWindowSeconds"])
        assert window != spec.max_batching_window_seconds, "the option must differ from the default"
        assert mapping["Properties"]["MaximumBatchingWindowInSeconds"] == window
        assert mapping["Properties"]["BatchSize"] == spec.batch_size, "nothing else changes"


@pytest.mark.parametrize("window", ["-1", "301", "half", "1.5"])
def test_a_batching_window_outside_lambdas_range_is_refused(window: str) -> None:
    with pytest.raises(ValueError, match="batchingWindowSeconds"):
        stage_config(App(context={"batchingWindowSeconds": window}).node)


@pytest.mark.parametrize("shards", ["0", "-1", "two", "1.5"])
def test_a_shard_count_that_is_not_a_positive_whole_number_is_refused(shards: str) -> None:
    with pytest.raises(ValueError, match="kinesisShards"):
        stage_config(App(context={"kinesisShards": shards}).node)


def test_without_a_custom_domain_cloudfront_uses_execute_api_and_still_sends_its_secret(
    synthesized_options: Synthesized,
) -> None:
    (api,) = synthesized_options.resources("AWS::ApiGatewayV2::Api").values()
    # The execute-api host must stay on: it is CloudFront's origin. The origin header guards it.
    assert api["Properties"].get("DisableExecuteApiEndpoint", False) is False
    assert not synthesized_options.resources("AWS::ApiGatewayV2::DomainName")
    (distribution,) = synthesized_options.resources("AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    behavior = next(b for b in config["CacheBehaviors"] if b["PathPattern"] == "/v1/*")
    origin = next(o for o in config["Origins"] if o["Id"] == behavior["TargetOriginId"])
    assert "execute-api" in json.dumps(origin["DomainName"])
    assert [h["HeaderName"] for h in origin["OriginCustomHeaders"]] == [ORIGIN_VERIFY_HEADER]


def test_dev_functions_log_debug_with_platform_warnings_only(synthesized_options: Synthesized) -> None:
    for spec in FUNCTIONS:
        _, function = by_marker(synthesized_options, f"function/{spec.name}")
        props = function["Properties"]
        assert props["LoggingConfig"]["ApplicationLogLevel"] == "DEBUG"
        assert props["LoggingConfig"]["SystemLogLevel"] == "WARN"
        assert props["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"] == "DEBUG"


def test_the_stream_record_format_reaches_ingest_only_as_asked(
    synthesized_options: Synthesized, synthesized: Synthesized
) -> None:
    def record_format(template: Synthesized) -> str:
        _, function = by_marker(template, "function/ingest")
        return str(function["Properties"]["Environment"]["Variables"]["REVIVA_STREAM_RECORD_FORMAT"])

    assert record_format(synthesized) == "envelope"
    assert record_format(synthesized_options) == "event"
    with pytest.raises(ValueError, match="streamRecordFormat"):
        stage_config(App(context={"streamRecordFormat": "protobuf"}).node)
