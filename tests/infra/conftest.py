"""One synth per test session: the prod stage with a custom API domain, layers as recipe placeholders
(and a second, `synthesized_options`, for the options that synth leaves off).

cdk-nag runs inside this synth (an unacknowledged finding fails it); CloudFormation's built-in
validation is off (it only slows synth down; cfn-lint checks the template instead).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

CONTEXT = {
    "stage": "prod",
    "account": "111111111111",
    "region": "eu-west-1",
    "layerSource": "recipe",
    "apiDomainName": "api.analytics.example.com",
    "apiCertificateArn": "arn:aws:acm:eu-west-1:111111111111:certificate/0000-example",
    "alarmEmail": "ops@example.com",
}


@dataclass
class Synthesized:
    outdir: Path
    template: dict[str, Any]
    firewall_template: dict[str, Any]
    stack_name: str

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        """Logical id → resource, for one CloudFormation type."""
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == kind}


# The options the main synth leaves at their defaults, in one second synth: the dev stage without a
# custom API domain (CloudFront must use the execute-api host), enhanced fan-out, provisioned Kinesis.
OPTIONS_CONTEXT = {
    "stage": "dev",
    "layerSource": "recipe",
    "enhancedFanOut": "true",
    "kinesisShards": "2",
    "streamRecordFormat": "event",
    "batchingWindowSeconds": "60",
}


def synthesize(context: dict[str, Any], outdir: Path) -> Synthesized:
    """Synthesize both stacks for `context` into `outdir` (cdk-nag runs; CloudFormation checks off)."""
    from infra.cdk_app import build_app

    app, stack, firewall, _ = build_app(dict(context), outdir=str(outdir), validate=False)
    app.synth()
    return Synthesized(
        outdir=outdir,
        template=json.loads((outdir / f"{stack.stack_name}.template.json").read_text()),
        firewall_template=json.loads((outdir / f"{firewall.stack_name}.template.json").read_text()),
        stack_name=stack.stack_name,
    )


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(CONTEXT, tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def synthesized_options(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(OPTIONS_CONTEXT, tmp_path_factory.mktemp("cdk.out-options"))
