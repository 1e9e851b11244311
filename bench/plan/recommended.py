"""The model the verdicts recommend, one value per axis, measured against the model as reviewed.

`RECOMMENDED` is the one place that combination is written. Each axis takes the value its claim's
verdict recommends (`DECIDED_BY`; bench.verdicts, bench.verdicts.storage) on the default run; the
report checks it against the run's own verdicts and says where they differ, so a run that
overturns a verdict shows it instead of silently measuring a stale combination. bench.plan.cases
adds it to every workload's comparison group, so its ratio to the baseline is paired trial by
trial like any variant's. It is kept out of the per-axis charts and verdicts (`without`): it
changes several axes at once, and has its table of its own (bench.analysis.end_to_end).
"""

from __future__ import annotations

from models_variants import Variant

# The claim whose verdict picks each axis's value. Deletion has two claims: C4 decides (soft
# delete for recovery, the review's recommendation 3); C3's value is how a purge should delete.
DECIDED_BY = {"loading": "C1", "sync_flag": "C2", "deletion": "C4", "audio_storage": "C5", "timestamps": "C6"}
RECOMMENDED = Variant(loading="raise", sync_flag="bool_column", deletion="soft",
                      audio_storage="storage_key", timestamps="aware")
SOURCE = "bench/plan/recommended.py RECOMMENDED"


def without(df):
    """Results rows of the per-axis comparisons: the recommended model's own rows left out."""
    return df[df["variant"] != RECOMMENDED.label] if "variant" in df else df
