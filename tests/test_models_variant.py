"""Variant naming, parsing, iteration, and independent model sets side by side."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import func, select

from models_variants import AXES, BASELINE, Variant, build_models
from tests.test_models_source import SESSIONS, filled, models_source, orm  # noqa: F401 (fixtures)


def test_axes_are_ordered_and_described():
    assert list(AXES) == ["loading", "sync_flag", "deletion", "audio_storage", "timestamps"]
    for axis in AXES.values():
        for name, value in axis.values.items():
            assert value.name == name
            assert value.description and "\n" not in value.description and len(value.description) < 100


def test_baseline_is_the_reviewed_model():
    assert BASELINE.as_dict() == {"loading": "lazy", "sync_flag": "json", "deletion": "hard_orm",
                                  "audio_storage": "raw_path", "timestamps": "naive_utc"}
    assert (BASELINE.label, BASELINE.slug) == ("baseline", "baseline")
    assert Variant.parse("") == Variant.parse("baseline") == BASELINE


def test_parse_label_slug_round_trip():
    variant = Variant.parse("deletion=soft, loading=joined")
    assert variant == Variant(loading="joined", deletion="soft")
    assert variant.label == "loading=joined,deletion=soft"  # axis order, not input order
    assert variant.slug == "joined_soft"
    assert Variant.parse(variant.label) == variant
    assert Variant.parse("selectin,bool_column") == Variant(loading="selectin", sync_flag="bool_column")


@pytest.mark.parametrize("text, message", [
    ("loading=eager", "unknown loading value 'eager'; valid: lazy, selectin, joined, subquery, raise"),
    ("colour=red", "unknown axis 'colour'; valid: loading, sync_flag"),
    ("loading=lazy,loading=joined", "axis 'loading' given twice"),
    ("eager", "unknown value 'eager'; valid loading: lazy"),
])
def test_parse_rejects_bad_input_listing_valid_values(text, message):
    with pytest.raises(ValueError) as error:
        Variant.parse(text)
    assert message in str(error.value)


def test_along_and_full_grid():
    assert [v.loading for v in Variant.along("loading")] == list(AXES["loading"].values)
    assert Variant.along("deletion")[0] == BASELINE
    assert all(len(v.changed()) <= 1 for v in Variant.along("sync_flag"))
    grid = Variant.full_grid()
    assert len(grid) == math.prod(len(axis.values) for axis in AXES.values()) == len(set(grid))
    assert len(AXES["loading"].values) == 6
    slugs = {v.slug for v in grid}
    assert len(slugs) == len(grid)  # schema names never collide
    assert all(slug.isidentifier() for slug in slugs)
    from bench.measure.context import variant_schema  # past 63 characters a name is cut with a hash: still unique

    names = {variant_schema("sb_abc123", "d10", slug) for slug in slugs}
    assert len(names) == len(slugs) and all(len(name) <= 63 for name in names)
    assert {Variant.parse(v.label) for v in grid} == set(grid)


@pytest.mark.db
def test_three_variants_live_side_by_side_in_one_process(engine, filled):
    variants = [Variant(loading="selectin"), Variant(sync_flag="sync_table", deletion="soft"),
                Variant(audio_storage="storage_key", timestamps="aware")]
    sets = [filled(v) for v in variants]
    assert len({m.schema for m in sets}) == 3
    assert len({m.Base.registry for m in sets}) == 3
    assert len({m.Session for m in sets}) == 3
    with engine.connect() as conn:
        for models in sets:  # interleaved use: each set queries its own schema
            with orm(models, conn) as db:
                assert db.scalar(select(func.count()).select_from(models.Session)) == SESSIONS
                first = db.get(models.Session, 1)
                assert first.messages[0].session is first
                assert models.Session.__table__.schema == models.schema


def test_each_build_is_a_fresh_mapping():
    first, second = build_models(BASELINE, "sb_a"), build_models(BASELINE, "sb_b")
    assert first.Session is not second.Session
    assert first.metadata is not second.metadata
    assert first.Message.__table__.c.session_id.foreign_keys.pop().column.table.schema == "sb_a"
