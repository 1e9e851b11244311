"""Axis `loading`: the relationship loading strategy of Session.skills and of Session.messages.

Review claim C1: the default (lazy="select") costs 1+N statements on the dashboard and
lazy="selectin" on both relationships fixes it. Each value names the `lazy=` argument of each
relationship, so the review's literal fix (`selectin`: both), selectin only where the page needs
it (`skills_sel`: the dashboard shows skills, only the detail page reads messages) and
explicit loading (`raise`: nothing loads by itself, every query names its loaders) are compared
on the same work. A relationship set to "raise" is loaded by the query's own `selectinload`
(bench.workloads.loading.explicit_loads).
"""

from __future__ import annotations

from models_variants.axis import AxisValue

RELATIONSHIPS = ("skills", "messages")


class Loading(AxisValue):
    def __init__(self, name: str, description: str, *, skills: str, messages: str) -> None:
        self.name, self.description = name, description
        self.strategies = {"skills": skills, "messages": messages}

    @property
    def skills_lazy(self) -> str:
        return self.strategies["skills"]

    @property
    def messages_lazy(self) -> str:
        return self.strategies["messages"]

    def relationship_kwargs(self, relationship: str) -> dict[str, str]:
        return {"lazy": self.strategies[relationship]}

    def explicit(self) -> tuple[str, ...]:
        """The relationships a query must load itself (their strategy raises on access)."""
        return tuple(name for name in RELATIONSHIPS if self.strategies[name] == "raise")


VALUES = (
    Loading("lazy", "SQLAlchemy default on both: one SELECT per parent on first access (as reviewed)",
            skills="select", messages="select"),
    Loading("selectin", "selectin on both (the review's fix): one SELECT ... IN (...) per 500 parents per collection",
            skills="selectin", messages="selectin"),
    Loading("joined", "joined on both: LEFT OUTER JOINs in the parent query itself", skills="joined", messages="joined"),
    Loading("subquery", "subquery on both: one extra SELECT per collection re-running the parent query",
            skills="subquery", messages="subquery"),
    Loading("raise", "raise on both: any unloaded access raises, so each query names its loaders (selectinload)",
            skills="raise", messages="raise"),
    Loading("skills_sel", "selectin on skills (every list shows them), lazy on messages (only the detail page)",
            skills="selectin", messages="select"),
)
