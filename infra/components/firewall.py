"""The WAF web ACL in front of CloudFront.

A web ACL for CloudFront (scope CLOUDFRONT) can only be created in us-east-1, whatever region the
pipeline runs in. So it lives in its own small stack pinned to us-east-1, which publishes the ACL's
ARN in an SSM parameter; the pipeline stack reads it back with a one-call custom resource. That
works for any pipeline region, including us-east-1 itself, and needs no hard-coded account.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_wafv2 as wafv2
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.components.nag import acknowledge
from infra.config import StageConfig
from reviva.topology import INGEST_PATHS

# CDK's id of the AwsCustomResource singleton function.
SINGLETON_ID = "AWS679f53fac002430cb0da5b7982bd2287"
WAF_REGION = "us-east-1"  # an AWS constraint for CLOUDFRONT-scope web ACLs, not a choice


def web_acl_parameter_name(config: StageConfig) -> str:
    return f"/{config.prefix}/edge/web-acl-arn"


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def _managed(name: str, priority: int) -> wafv2.CfnWebACL.RuleProperty:
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                vendor_name="AWS", name=name
            )
        ),
        visibility_config=_visibility(name),
    )


class EdgeFirewallStack(Stack):
    """us-east-1: the web ACL (rate limit on ingest, bad inputs, IP reputation) and its ARN in SSM."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        ingest_prefix = "/" + INGEST_PATHS[0].strip("/").split("/")[0] + "/"  # "/v1/"
        rate_rule = wafv2.CfnWebACL.RuleProperty(
            name="IngestRateLimit",
            priority=0,
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    limit=config.waf_rate_limit,
                    aggregate_key_type="IP",
                    scope_down_statement=wafv2.CfnWebACL.StatementProperty(
                        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                            positional_constraint="STARTS_WITH",
                            search_string=ingest_prefix,
                            text_transformations=[
                                wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="LOWERCASE")
                            ],
                        )
                    ),
                )
            ),
            visibility_config=_visibility("IngestRateLimit"),
        )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(f"{config.prefix}-edge"),
            rules=[
                rate_rule,
                _managed("AWSManagedRulesKnownBadInputsRuleSet", 1),
                _managed("AWSManagedRulesAmazonIpReputationList", 2),
            ],
        )
        ssm.StringParameter(
            self,
            "WebAclArn",
            parameter_name=web_acl_parameter_name(config),
            string_value=self.web_acl.attr_arn,
            description="ARN of the CloudFront web ACL, read by the pipeline stack",
        )


class WebAclLookup(Construct):
    """Reads the web ACL's ARN from the firewall stack's SSM parameter in us-east-1."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        name = web_acl_parameter_name(config)
        stack = Stack.of(self)
        parameter_arn = stack.format_arn(
            service="ssm", region=WAF_REGION, resource="parameter", resource_name=name.lstrip("/")
        )
        call = cr.AwsSdkCall(
            service="SSM",
            action="getParameter",
            parameters={"Name": name},
            region=WAF_REGION,
            physical_resource_id=cr.PhysicalResourceId.of(name),
        )
        self.lookup = cr.AwsCustomResource(
            self,
            "Lookup",
            on_create=call,
            on_update=call,
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=[parameter_arn]),
            install_latest_aws_sdk=False,
        )
        self.web_acl_arn = self.lookup.get_response_field("Parameter.Value")
        # The custom resource's singleton function lives at the stack's root.
        singleton = stack.node.try_find_child(SINGLETON_ID)
        if singleton is not None:
            acknowledge(
                singleton,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                "CDK's own AwsCustomResource handler (one deploy-time SSM read); its role is CDK's, "
                "granting only log writing through the basic execution policy.",
            )
