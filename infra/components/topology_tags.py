"""Marks each resource built from a topology declaration, so a test can compare AWS with local."""

from __future__ import annotations

from aws_cdk import CfnResource
from constructs import IConstruct

METADATA_KEY = "reviva:topology"


def mark(construct: IConstruct, kind: str, name: str) -> None:
    """Record in the template that `construct` is the declared `kind/name` (e.g. "table/visitors")."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to mark")
    resource.add_metadata(METADATA_KEY, f"{kind}/{name}")
