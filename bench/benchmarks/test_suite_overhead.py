"""The suite measuring itself: what counting statements adds to a single-row SELECT.

Not part of `sessionbench run`; `python -m tools.selfcheck` runs it and records the ratio.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from bench.backends import embedded_server
from bench.measure.counting import StatementCounter
from bench.results import record


@pytest.fixture(scope="module")
def engine():
    with embedded_server() as server:
        engine = create_engine(server.url, pool_size=1, max_overflow=0)
        yield engine
        engine.dispose()


@pytest.mark.parametrize("counted", [False, True], ids=["plain", "counted"])
def test_single_row_select(benchmark, engine, counted):
    benchmark.group = "counting overhead"
    with engine.connect() as conn:
        query = text("select 1")

        def once():
            return conn.execute(query).scalar_one()

        if counted:
            with StatementCounter(engine):
                benchmark.pedantic(once, rounds=3000, warmup_rounds=200)
        else:
            benchmark.pedantic(once, rounds=3000, warmup_rounds=200)
    record(benchmark, {"counted": counted})
