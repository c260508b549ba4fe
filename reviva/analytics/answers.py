"""The base of every endpoint's typed answer, which serializes to the JSON docs/api-analytics.md shows.

Fields named like Python keywords (`from`) carry a serialization alias. Numbers that may be an int
or a float in the JSON are typed `Number`, so an int stays an int (a `float` field would make
`3` into `3.0`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

Number = int | float


class Answer(BaseModel):
    """A typed endpoint answer (or a part of one)."""

    model_config = ConfigDict(frozen=True)

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready dict the endpoint answers."""
        return self.model_dump(mode="json", by_alias=True)
