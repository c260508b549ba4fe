"""The CDK app: `python infra/cdk_app.py` (or `cdk synth`) writes cdk.out/ offline.

Two stacks per stage: `Reviva-<stage>` (the pipeline, in the CLI's or `-c region=` region, or
environment-agnostic) and `Reviva-<stage>-edge-firewall` (the CloudFront WAF, which AWS requires in
us-east-1). cdk-nag's AwsSolutions checks run on every synth; an unacknowledged finding fails it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python infra/cdk_app.py` puts infra/, not the root, on the path
    sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import App, Environment, Tags, Validations  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.components.firewall import WAF_REGION, EdgeFirewallStack  # noqa: E402
from infra.config import StageConfig, stage_config  # noqa: E402
from infra.stack import RevivaStack  # noqa: E402


def build_app(
    context: dict[str, Any] | None = None, outdir: str | None = None, validate: bool | None = None
) -> tuple[App, RevivaStack, EdgeFirewallStack, StageConfig]:
    """Build the app (and its stacks) for the stage in `context`; synth with `app.synth()`."""
    if validate is None:
        validate = os.environ.get("CDK_VALIDATION", "true").lower() != "false"
    app = App(context=context or {}, outdir=outdir, builtin_cloud_formation_validation=validate)
    config = stage_config(app.node)
    layer_source = str(app.node.try_get_context("layerSource") or "build")
    env = (
        Environment(account=config.account, region=config.region) if config.region or config.account else None
    )
    firewall = EdgeFirewallStack(
        app,
        f"Reviva-{config.stage}-edge-firewall",
        config=config,
        env=Environment(account=config.account, region=WAF_REGION),
        description="RevivaTech Analytics: CloudFront web ACL (us-east-1 by AWS's rule)",
    )
    stack = RevivaStack(
        app,
        f"Reviva-{config.stage}",
        config=config,
        layer_source=layer_source,
        env=env,
        description=f"RevivaTech Analytics pipeline ({config.stage})",
    )
    stack.add_stack_dependency(firewall, "the pipeline reads the web ACL's ARN the firewall stack publishes")
    Tags.of(app).add("project", "reviva")
    Tags.of(app).add("stage", config.stage)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack, firewall, config


def main() -> None:
    app, _, _, _ = build_app()
    app.synth()


if __name__ == "__main__":
    main()
