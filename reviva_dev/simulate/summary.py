"""The result of one simulation run: what was generated, what the endpoint accepted, how fast.

`SimulationSummary` joins the generator's `TrafficSummary` (the answer key) with the sender's
`SendReport`; `render_summary` turns it into rich tables for the CLI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.table import Table

from reviva_dev.simulate.traffic import TrafficSummary

if TYPE_CHECKING:
    from reviva_dev.simulate.sender import SendReport


@dataclass(frozen=True)
class SimulationSummary:
    """One `reviva simulate` run."""

    endpoint: str
    seed: int
    days: int
    traffic: TrafficSummary
    send: SendReport
    generation_s: float

    @property
    def visitors(self) -> int:
        """Simulated people (a returning customer on two devices counts once)."""
        return self.traffic.visitors

    @property
    def sent(self) -> int:
        """Messages handed to the endpoint (each once; retries not counted)."""
        return self.send.sent

    @property
    def accepted(self) -> int:
        """Messages the endpoint acknowledged."""
        return self.send.accepted

    @property
    def rejected(self) -> int:
        """Messages the endpoint refused as invalid."""
        return self.send.rejected

    @property
    def failed(self) -> int:
        """Messages still failing (5xx, connection errors) after every retry."""
        return self.send.failed

    @property
    def by_type(self) -> dict[str, int]:
        """Messages per Segment type (page, track, identify, alias)."""
        return self.traffic.by_type

    @property
    def by_event(self) -> dict[str, int]:
        """Track events per event name."""
        return self.traffic.by_event

    @property
    def by_persona(self) -> dict[str, int]:
        """Visitors per persona."""
        return self.traffic.visitors_by_persona

    @property
    def conversions(self) -> int:
        """`Booking Submitted` events."""
        return self.traffic.conversions

    @property
    def revenue(self) -> float:
        """Sum of `Booking Submitted` revenue, in GBP."""
        return self.traffic.revenue

    @property
    def duration_s(self) -> float:
        """Seconds spent sending."""
        return self.send.duration_s

    @property
    def events_per_second(self) -> float:
        """Messages sent per second of sending."""
        return self.send.events_per_second

    @property
    def ok(self) -> bool:
        """Every message was accepted."""
        return self.send.accepted == self.send.sent and not self.send.rejected and not self.send.failed

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (for `--json` output or a test's assertion message)."""
        send = asdict(self.send)
        send["events_per_second"] = round(self.send.events_per_second, 1)
        return {
            "endpoint": self.endpoint,
            "seed": self.seed,
            "days": self.days,
            "generation_s": round(self.generation_s, 3),
            "traffic": self.traffic.to_dict(),
            "send": send,
        }


def _table(title: str, rows: dict[str, Any]) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", show_header=False, box=None)
    table.add_column(style="cyan", no_wrap=True)
    table.add_column(justify="right")
    for key, value in rows.items():
        table.add_row(str(key), f"{value:,}" if isinstance(value, int) else str(value))
    return table


def render_summary(summary: SimulationSummary) -> RenderableType:
    """Rich tables of a run: delivery, traffic by type/event/persona/channel, conversions."""
    traffic, send = summary.traffic, summary.send
    delivery = _table(
        "Delivery",
        {
            "endpoint": summary.endpoint,
            "sent": send.sent,
            "accepted": send.accepted,
            "rejected": send.rejected,
            "failed after retries": send.failed,
            "requests (retries)": f"{send.requests:,} ({send.retries:,})",
            "duration": f"{send.duration_s:.2f} s",
            "throughput": f"{send.events_per_second:,.0f} events/s",
            "generated in": f"{summary.generation_s:.2f} s",
        },
    )
    overview = _table(
        "Traffic",
        {
            "seed / days": f"{summary.seed} / {summary.days}",
            "visitors": traffic.visitors,
            "devices (anonymous ids)": traffic.devices,
            "sessions": traffic.sessions,
            "mid-visit campaign switches": traffic.campaign_switches,
            "identified users": traffic.identified_users,
            "bots (messages)": f"{traffic.bots:,} ({traffic.bot_messages:,})",
            "conversions (visitors)": f"{traffic.conversions:,} ({traffic.converted_visitors:,})",
            "revenue": f"£{traffic.revenue:,.2f}",
            "period": f"{traffic.first_timestamp} → {traffic.last_timestamp}",
        },
    )
    parts: list[RenderableType] = [delivery, "", overview, ""]
    parts += [_table("Messages by type", traffic.by_type), ""]
    parts += [_table("Track events", traffic.by_event), ""]
    personas = {
        name: f"{visitors:,} visitors, {traffic.messages_by_persona[name]:,} messages"
        for name, visitors in traffic.visitors_by_persona.items()
    }
    parts += [_table("Personas", personas), ""]
    parts += [_table("Sessions by entry channel (humans)", traffic.sessions_by_channel)]
    if send.rejections:
        rejections = Table(title="Rejected (sample)", title_justify="left", title_style="bold", box=None)
        rejections.add_column("messageId", style="red")
        rejections.add_column("reason")
        for rejection in send.rejections:
            rejections.add_row(rejection.message_id or "-", rejection.reason)
        parts += ["", rejections]
    return Group(*parts)
