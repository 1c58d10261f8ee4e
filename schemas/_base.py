"""The base every wire model shares.

Wire models are frozen (a message is a fact, not a draft) and keep fields they do not know
(`extra="allow"`), the way python-telegram-bot keeps unknown fields in `api_kwargs`: a newer producer
may add a field and an older consumer passes it on unchanged instead of rejecting the message.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class WireModel(BaseModel):
    """A frozen pydantic model that keeps unknown fields and serialises to compact JSON."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    def to_wire(self) -> str:
        """The JSON text that travels on the bus (unknown fields included, `None`s dropped)."""
        return self.model_dump_json(exclude_none=True)
