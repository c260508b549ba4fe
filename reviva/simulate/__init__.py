"""Traffic simulator behind `reviva simulate`: realistic Segment traffic for the RevivaTech site.

`plan_traffic`/`generate_traffic` build reproducible messages from personas (see `personas`),
`send_traffic` posts them to an ingest endpoint as an SDK would, and `run_simulation` does both
and returns a `SimulationSummary` that `render_summary` prints.
"""

from reviva.simulate.personas import PERSONA_WEIGHTS, PERSONAS, Persona, PersonaName
from reviva.simulate.sender import RetryPolicy, SendError, SendReport, run_simulation, send_traffic
from reviva.simulate.summary import SimulationSummary, render_summary
from reviva.simulate.traffic import (
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
    "MAX_DAYS",
    "PERSONAS",
    "PERSONA_WEIGHTS",
    "TRACK_EVENTS",
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
    "generate_traffic",
    "plan_traffic",
    "render_summary",
    "run_simulation",
    "send_traffic",
]
