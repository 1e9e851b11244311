"""Axis `loading`: the relationship loading strategy of Session.skills and Session.messages.

Review claim C1: the default (lazy="select") costs 1+N statements on the dashboard and
lazy="selectin" fixes it. Each value is just the `lazy=` argument both relationships get.
"""

from __future__ import annotations

from models_variants.axis import AxisValue


class Loading(AxisValue):
    def __init__(self, name: str, lazy: str, description: str) -> None:
        self.name, self.lazy, self.description = name, lazy, description

    def relationship_kwargs(self) -> dict[str, str]:
        return {"lazy": self.lazy}


VALUES = (
    Loading("lazy", "select", "SQLAlchemy default: one SELECT per parent on first access (as reviewed)"),
    Loading("selectin", "selectin", "one extra SELECT ... WHERE parent_id IN (...) per 500 parents"),
    Loading("joined", "joined", "LEFT OUTER JOIN in the parent query itself"),
    Loading("subquery", "subquery", "one extra SELECT re-running the parent query as a subquery"),
    Loading("raise", "raise", "any unloaded access raises: forces every caller to choose a loader"),
)
