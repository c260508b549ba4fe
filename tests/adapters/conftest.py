"""Fixtures the adapter tests share with the ingest tests: moto resources and the ingest harness."""

from tests.ingest.conftest import aws, harness

__all__ = ["aws", "harness"]
