"""Sessionization: 30 minutes of inactivity or a new campaign starts a new session."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from enum import Enum

from reviva.enrich.visitor_state import SESSION_INACTIVITY_SECONDS, SessionState

INACTIVITY = timedelta(seconds=SESSION_INACTIVITY_SECONDS)


class SessionDecision(Enum):
    """Where an event goes relative to the visitor's open session."""

    CONTINUE = "continue"  # joins the open session
    NEW = "new"  # closes the open session and starts another
    LATE = "late"  # arrived long after its time: a session of its own, closed at once


def decide_session(
    current: SessionState | None, event_time: datetime, campaign_key: str | None
) -> SessionDecision:
    """Decide whether an event continues the open session.

    A campaign key of None (direct or internal traffic) never splits a session, so a visitor who
    lands from an ad and then navigates the site stays in one session, as in GA4.
    """
    if current is None:
        return SessionDecision.NEW
    if event_time < current.started_at - INACTIVITY:
        return SessionDecision.LATE
    if event_time - current.ended_at > INACTIVITY:
        return SessionDecision.NEW
    if campaign_key is not None and campaign_key != current.campaign_key:
        return SessionDecision.NEW
    return SessionDecision.CONTINUE


def session_id_for(visitor_key: str, first_message_id: str) -> str:
    """A session id derived from its first event, so replaying a batch reproduces it exactly."""
    digest = hashlib.blake2b(f"{visitor_key}|{first_message_id}".encode(), digest_size=10).hexdigest()
    return f"s_{digest}"
