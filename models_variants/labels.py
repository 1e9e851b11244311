"""The variants sessionbench's analysis names, by their labels (`axis=value`, or "baseline").

Results rows carry a variant's label; the verdicts, charts and cases that must pick out one variant
(the model as reviewed, the fix the review proposes, the alternatives a claim weighs) name it here,
made by `Variant`, so a renamed or removed axis value fails on import instead of matching nothing.
"""

from models_variants.variant import BASELINE as _BASELINE, Variant

BASELINE = _BASELINE.label  # the model as reviewed
# C1, loading
SELECTIN = Variant(loading="selectin").label
SKILLS_SEL = Variant(loading="skills_sel").label
RAISE = Variant(loading="raise").label
# C2, sync_flag
BOOL_COLUMN = Variant(sync_flag="bool_column").label
# C3, C4, deletion
SOFT = Variant(deletion="soft").label
SOFT_UNINDEXED = Variant(deletion="soft_unindexed").label
# C5, audio_storage
STORAGE_KEY = Variant(audio_storage="storage_key").label
# C6, timestamps
AWARE = Variant(timestamps="aware").label
