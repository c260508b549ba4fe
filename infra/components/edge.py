"""The edge stage: CloudFront serving the tracker and dashboard from S3 and `/v1/*` first-party."""

from __future__ import annotations

from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.components.nag import acknowledge
from infra.config import StageConfig
from reviva.origin_verify import ORIGIN_VERIFY_HEADER
from reviva.topology import ROUTES, STATIC_SITES


# Paths CloudFront sends to the API: every first path segment the routes use ("/v1/*", "/health").
def api_path_patterns() -> list[str]:
    """CloudFront path patterns covering every route in the topology."""
    patterns: list[str] = []
    for route in ROUTES:
        segments = [s for s in route.path.split("/") if s]
        pattern = f"/{segments[0]}/*" if len(segments) > 1 else f"/{segments[0]}"
        if pattern not in patterns:
            patterns.append(pattern)
    return patterns


class EdgeStage(Construct):
    """One first-party domain: static files from the site bucket, the API under its own paths."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        site_bucket: s3.IBucket,
        api_domain: str,
        web_acl_arn: str,
        origin_verify: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        api_origin = origins.HttpOrigin(
            api_domain,
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
            # The API's own host (execute-api, or the custom domain) answers anyone; this header tells
            # ingest a request came through CloudFront and its WAF. CloudFormation resolves the
            # secret at deploy time (a dynamic reference): the value is never in the template.
            custom_headers={ORIGIN_VERIFY_HEADER: origin_verify.secret_value.unsafe_unwrap()},
        )
        api_behavior = cloudfront.BehaviorOptions(
            origin=api_origin,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            # Every viewer header but Host (API Gateway needs its own), plus CloudFront's headers:
            # CloudFront-Viewer-Country (and region, city) reach ingest for geo enrichment.
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        )
        site_origin = origins.S3BucketOrigin.with_origin_access_control(site_bucket)
        static_behavior = cloudfront.BehaviorOptions(
            origin=site_origin,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
            response_headers_policy=cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
        )
        certificate = (
            acm.Certificate.from_certificate_arn(self, "Certificate", config.site_certificate_arn)
            if config.site_certificate_arn and config.site_domain_name
            else None
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"RevivaTech Analytics ({config.stage})",
            default_behavior=static_behavior,
            additional_behaviors={
                **{pattern: api_behavior for pattern in api_path_patterns()},
                **{f"{prefix.rstrip('/')}/*": static_behavior for prefix in STATIC_SITES},
            },
            web_acl_id=web_acl_arn,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            domain_names=[config.site_domain_name] if certificate and config.site_domain_name else None,
            certificate=certificate,
            # CloudFront's standard logs record every visitor's full IP address (`c-ip`), which no
            # store of ours may hold; the legacy format cannot leave the field out. The edge is
            # watched through CloudFront's and the firewall's metrics instead (docs/privacy.md).
            enable_logging=False,
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR3",
            "Access logs are off on purpose: they would store every visitor's raw IP address.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "Visitors come from anywhere; there is no country the store must refuse.",
        )
        if certificate is None:
            acknowledge(
                self.distribution,
                "AwsSolutions-CFR4",
                "Without a custom domain CloudFront serves its default certificate, whose TLS floor is "
                "fixed by AWS; with -c siteDomainName/siteCertificateArn TLS 1.2 (2021) is enforced.",
            )
        self.domain_name = (
            config.site_domain_name if certificate else self.distribution.distribution_domain_name
        )
