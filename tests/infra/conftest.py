"""One synth per test session: the prod stage with a custom API domain, layers as recipe placeholders.

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


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    from infra.cdk_app import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack, firewall, _ = build_app(dict(CONTEXT), outdir=str(outdir), validate=False)
    app.synth()
    return Synthesized(
        outdir=outdir,
        template=json.loads((outdir / f"{stack.stack_name}.template.json").read_text()),
        firewall_template=json.loads((outdir / f"{firewall.stack_name}.template.json").read_text()),
        stack_name=stack.stack_name,
    )
