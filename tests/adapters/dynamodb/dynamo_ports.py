"""The enrich ports with the real DynamoDB repositories and in-memory lake and poison sink."""

from __future__ import annotations

from reviva.adapters.dynamodb.counter_repository import DynamoCounterRepository
from reviva.adapters.dynamodb.visitor_repository import DynamoVisitorRepository
from reviva.enrich.journey_rules import load_journey_rules
from reviva.enrich.service import EnrichPorts
from reviva.settings import Settings
from reviva_dev.fakes.enrich import MemoryLake, MemoryPoison


def dynamo_ports(settings: Settings) -> EnrichPorts:
    """Ports whose visitors and counters live in the DynamoDB tables `settings` names."""
    counters = DynamoCounterRepository(settings)
    return EnrichPorts(
        visitors=DynamoVisitorRepository(settings, counters=counters),
        counters=counters,
        lake=MemoryLake(),
        poison=MemoryPoison(),
        rules=load_journey_rules(None),
    )
