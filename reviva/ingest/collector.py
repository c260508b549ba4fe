"""The collector: a request's Segment messages in, pseudonymized events on the stream.

`Collector.collect` validates each message, has the privacy policy protect it (consent,
cookieless keys, pseudonyms, scrubbing: `reviva.privacy.policy`), corrects the client's clock
skew (`reviva.segment.timestamps`), publishes the events through the `EventPublisher` port and
stores the refused messages with their reasons through the `RejectedStore` port. The outcome
says, per position in the request, what was accepted, rejected, or not taken by the stream:
nothing the stream did not accept is counted as accepted. It knows nothing of HTTP; the edge
(`reviva.api.ingest_http`) turns requests into messages and outcomes into answers.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from reviva.contracts.events import CollectedEvent, Geo, MessageType
from reviva.contracts.visitor_key import anonymous_key, user_key
from reviva.ingest.batch import Unencodable
from reviva.ingest.ports import EventPublisher, RejectedStore, Rejection
from reviva.privacy.policy import PrivacyPolicy
from reviva.segment.libraries import is_non_browser_library
from reviva.segment.messages import MessageRejectedError
from reviva.segment.timestamps import event_time

logger = logging.getLogger(__name__)

STAGE: Final = "ingest"


@dataclass(frozen=True)
class RequestContext:
    """What every message of one request shares: receipt time and what only the edge knows."""

    received_at: datetime
    source_id: str
    ip_truncated: str | None = None
    header_user_agent: str | None = None
    geo: Geo = field(default_factory=Geo)
    batch_context: dict[str, Any] | None = None
    batch_sent_at: datetime | None = None
    # The type a single-message path implies (None for a batch).
    implied_type: MessageType | None = None
    # Privacy signals of the browser that sent the request: `Sec-GPC: 1`, `DNT: 1`.
    gpc: bool = False
    dnt: bool = False
    # The site the request came from (Origin, else Referer host): part of the cookieless key.
    site_host: str | None = None


@dataclass
class BuiltBatch:
    """Messages of one request turned into events, and those refused with reasons."""

    events: list[CollectedEvent] = field(default_factory=list)
    # Position in the request of each event in `events`.
    event_indexes: list[int] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


@dataclass
class CollectOutcome:
    """What became of a request's messages."""

    # Events the stream accepted.
    accepted: int = 0
    # Messages refused, with their position and reason (also stored in the rejected store).
    rejections: list[Rejection] = field(default_factory=list)
    # Positions in the request of valid messages the stream did not accept: the sender retries them.
    failed: list[int] = field(default_factory=list)


def _message_id_of(raw: Any) -> str | None:
    if isinstance(raw, dict):
        value = raw.get("messageId")
        if isinstance(value, str) and value:
            return value[:256]
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return None


class Collector:
    """Validates, protects and publishes a request's messages; see the module docstring."""

    def __init__(
        self, policy: PrivacyPolicy, publisher: EventPublisher, rejected_store: RejectedStore
    ) -> None:
        self.policy = policy
        self._publisher = publisher
        self._rejected = rejected_store

    def collect(self, messages: Sequence[Any], context: RequestContext) -> CollectOutcome:
        """Build the events of `messages`, publish them and store the rejections."""
        built = self.build_events(messages, context)
        failed_positions: list[int] = []
        if built.events:
            result = self._publisher.publish(built.events)
            failed_positions = sorted(result.failed_indexes())
        self.store_rejections(built.rejections)
        failed = [built.event_indexes[position] for position in failed_positions]
        if failed:
            logger.error("stream did not accept %d messages after retries", len(failed))
        return CollectOutcome(len(built.events) - len(failed), built.rejections, failed)

    def refuse_request(self, reason: str, raw: Any, source_id: str) -> None:
        """Store a whole request refused before its messages were read (an authenticated sender's)."""
        self.store_rejections([Rejection(STAGE, reason, raw, source_id=source_id)])

    def store_rejections(self, rejections: list[Rejection]) -> None:
        """Store `rejections`; a failing store is logged, never passed on to the sender."""
        if not rejections:
            return
        try:
            self._rejected.record(rejections)
        except Exception:
            # The sender cannot fix our store; answer them anyway, and make the loss loud here.
            logger.exception("could not store %d rejected messages", len(rejections))

    def build_events(self, messages: Sequence[Any], context: RequestContext) -> BuiltBatch:
        """Validate each message and build its `CollectedEvent`; refused ones become `Rejection`s.

        This is the hot path `make bench` measures: no I/O, no regex compilation.
        """
        built = BuiltBatch()
        for index, raw in enumerate(messages):
            try:
                if isinstance(raw, Unencodable):
                    reason, raw = raw.reason, raw.message
                    raise MessageRejectedError(reason)
                event = self.build_event(raw, context)
            except MessageRejectedError as error:
                built.rejections.append(
                    Rejection(
                        STAGE,
                        error.reason,
                        raw,
                        index=index,
                        message_id=_message_id_of(raw),
                        source_id=context.source_id,
                        rejected_at=context.received_at,
                    )
                )
                continue
            built.events.append(event)
            built.event_indexes.append(index)
        return built

    def build_event(self, raw: Any, context: RequestContext) -> CollectedEvent:
        """Validate one message and turn it into the pseudonymized event put on the stream."""
        if context.batch_context is not None and isinstance(raw, dict):
            own_context = raw.get("context")
            if own_context is None:
                raw = {**raw, "context": context.batch_context}
            elif isinstance(own_context, dict):
                # Segment semantics: the batch's context applies to each message; the message's own keys win.
                merged = {**context.batch_context, **own_context}
                if merged.get("consent") is None and "consent" in context.batch_context:
                    # A null consent states nothing: it cannot cancel the consent the batch stated.
                    merged["consent"] = context.batch_context["consent"]
                raw = {**raw, "context": merged}
        protected = self.policy.apply(raw, context)
        message = protected.message
        timestamp, client_time, sent_at = event_time(message, context.received_at, context.batch_sent_at)

        anonymous_id, user_id = protected.anonymous_id, protected.user_id
        user_agent = protected.context.get("userAgent")
        if (not isinstance(user_agent, str) or not user_agent) and not is_non_browser_library(
            message.context
        ):
            # A browser's request header describes the visitor's device; a server SDK's names the SDK.
            user_agent = context.header_user_agent

        fields = protected.type_fields
        fields.update(
            message_id=protected.message_id or str(uuid.uuid4()),
            type=message.type,
            visitor_key=anonymous_key(anonymous_id) if anonymous_id else user_key(user_id or ""),
            anonymous_id=anonymous_id,
            user_id=user_id,
            timestamp=timestamp,
            original_timestamp=client_time,
            sent_at=sent_at,
            received_at=context.received_at,
            properties=protected.properties,
            traits=protected.traits,
            context=protected.context,
            ip_truncated=context.ip_truncated,
            user_agent=user_agent,
            geo=context.geo,
            consent=protected.consent,
            source_id=context.source_id,
        )
        # model_validate (compiled) is cheaper than model_construct (Python) and checks the contract too.
        return CollectedEvent.model_validate(fields)
