"""Review claim C1: statements per dashboard page, counted on the wire, per loading strategy.

Each value sets Session.skills and Session.messages: one eager on both loads messages too even
when the page only shows skills (selectin costs 1 + 2*ceil(P/500), subquery 3), while
skills_sel loads only skills eagerly (1 + ceil(P/500)) and messages on access.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import InvalidRequestError

from tests.test_models_source import along, filled, models_source, orm  # noqa: F401 (fixtures)

PAGE_SIZES = [10, 100, 501, 1200]
BATCH = 500  # SQLAlchemy's selectin IN-list batch size

# statements for: one page query + touching .skills of every session (None = raises)
SKILLS_ONLY = {
    "lazy": lambda p: 1 + p,
    "selectin": lambda p: 1 + 2 * math.ceil(p / BATCH),
    "joined": lambda p: 1,
    "subquery": lambda p: 3,
    "raise": None,
    "skills_sel": lambda p: 1 + math.ceil(p / BATCH),
}
# ... and touching both .skills and .messages
SKILLS_AND_MESSAGES = {**SKILLS_ONLY, "lazy": lambda p: 1 + 2 * p,
                       "skills_sel": lambda p: 1 + math.ceil(p / BATCH) + p}


@contextmanager
def counted(connection):
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", count)


def load_page(models, db, page_size: int, touch: tuple[str, ...]) -> int:
    Session = models.Session
    page = db.scalars(select(Session).order_by(Session.updated_at.desc(), Session.id).limit(page_size))
    rows = page.unique().all()
    for row in rows:
        for attribute in touch:
            len(getattr(row, attribute))
    return len(rows)


@pytest.mark.db
@pytest.mark.parametrize("page_size", PAGE_SIZES)
@pytest.mark.parametrize("variant", along("loading"))
@pytest.mark.parametrize("touch, expected", [
    pytest.param(("skills",), SKILLS_ONLY, id="skills"),
    pytest.param(("skills", "messages"), SKILLS_AND_MESSAGES, id="skills+messages"),
])
def test_statements_per_page(engine, filled, variant, page_size, touch, expected):
    models = filled(variant)
    with engine.connect() as conn, orm(models, conn) as db, counted(conn) as statements:
        if expected[variant.loading] is None:
            with pytest.raises(InvalidRequestError, match="'Session.skills' is not available"):
                load_page(models, db, page_size, touch)
            return
        assert load_page(models, db, page_size, touch) == page_size
    assert len(statements) == expected[variant.loading](page_size)


@pytest.mark.db
@pytest.mark.parametrize("variant", along("loading"))
def test_every_strategy_loads_the_same_collections(engine, filled, variant):
    from sqlalchemy.orm import selectinload

    models = filled(variant)
    Session = models.Session
    statement = select(Session).order_by(Session.id).limit(40)
    if variant.loading == "raise":  # callers must choose a loader explicitly
        statement = statement.options(selectinload(Session.skills), selectinload(Session.messages))
    with engine.connect() as conn, orm(models, conn) as db:
        rows = db.scalars(statement).unique().all()
        seen = {(s.id, tuple(sorted(k.id for k in s.skills)), tuple(m.id for m in s.messages))
                for s in rows}
    # sessions 4, 8, ... have no skills; every session has three messages, ids i*10+1..3
    assert len(seen) == 40
    assert all(messages == (10 * i + 1, 10 * i + 2, 10 * i + 3) for i, _, messages in seen)
    assert {i for i, skills, _ in seen if not skills} == set(range(4, 41, 4))
