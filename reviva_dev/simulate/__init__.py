"""Traffic simulator behind `reviva simulate`: realistic Segment traffic for the RevivaTech site.

`plan_traffic`/`generate_traffic` build reproducible messages from personas (see `personas`),
optionally with the browser tracker's automatic events (`autocapture=True`, see `autocapture`),
`send_traffic` posts them to an ingest endpoint as an SDK would, and `run_simulation` does both
and returns a `SimulationSummary` that `render_summary` prints.
"""

from reviva_dev.simulate.autocapture import AUTO_EVENTS, EventMix, event_mix
from reviva_dev.simulate.personas import PERSONA_WEIGHTS, PERSONAS, Persona, PersonaName
from reviva_dev.simulate.sender import RetryPolicy, SendError, SendReport, run_simulation, send_traffic
from reviva_dev.simulate.summary import SimulationSummary, render_summary
from reviva_dev.simulate.traffic import (
    MAX_DAYS,
    TRACK_EVENTS,
    TrafficPlan,
    TrafficSummary,
    VisitorTruth,
    clamp_days,
    generate_traffic,
    plan_traffic,
)

__all__ = [
    "AUTO_EVENTS",
    "MAX_DAYS",
    "PERSONAS",
    "PERSONA_WEIGHTS",
    "TRACK_EVENTS",
    "EventMix",
    "Persona",
    "PersonaName",
    "RetryPolicy",
    "SendError",
    "SendReport",
    "SimulationSummary",
    "TrafficPlan",
    "TrafficSummary",
    "VisitorTruth",
    "clamp_days",
    "event_mix",
    "generate_traffic",
    "plan_traffic",
    "render_summary",
    "run_simulation",
    "send_traffic",
]
