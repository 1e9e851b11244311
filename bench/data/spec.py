"""One data set's spec: its size, seed, syncing sessions and mesh nodes, and the sizes a run measures.

The spec is what a results row's data columns say (`DataSpec.columns`); bench.data.datagen makes the
rows it describes and bench.data loads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bench.plan.settings import SCALES

GENERATOR_VERSION = 1  # bump when generated data changes, so stale loads are not reused
REFERENCE_INSTANT = datetime(2026, 1, 1)  # fixed, not now(): data must not depend on the day
MAX_SKILLS = 8  # skills linked to one session at most
DEFAULT_SYNCING, SWEEP_SYNCING = "1%", "100"  # a share of all sessions, or a fixed count
SKILL_NAMES = (
    "web-search code-review summarize translate image-gen sql-query unit-test refactor "
    "doc-writer shell-exec file-read file-write git-ops deploy log-search metrics alerting "
    "calendar email-draft chat-notify issue-triage pdf-extract ocr speech-to-text "
    "text-to-speech vector-search embeddings rerank classify sentiment entity-extract "
    "spell-check math-solver chart-plot csv-analyze web-scrape api-call oauth-login "
    "secrets-scan dependency-audit lint format benchmark profiler k8s-ops terraform "
    "docker-build backup data-clean schedule"
).split()

def is_share(syncing) -> bool:
    """Whether a syncing setting is a share of all sessions ("1%") rather than a fixed count ("100")."""
    return str(syncing).endswith("%")


def syncing_share(syncing: str, sessions: int) -> float | int:
    """"1%" -> 0.01 (a share), "100" -> 100 (a count, at most every session)."""
    try:
        if is_share(syncing):
            share = float(syncing[:-1]) / 100
            if 0 < share <= 1:
                return share
        elif int(syncing) >= 1:
            return min(int(syncing), sessions)
    except ValueError:
        pass
    raise ValueError(f"syncing {syncing!r} is neither a count (100) nor a percentage (1%)")



# What a results row says about the data its case ran on, in this order: part of every benchmark's key
# (bench.results.format.KEY) and the axes of the growth tables (bench.analysis.growth).
DATA_COLUMNS = ("sessions", "nodes_per_session", "syncing")


@dataclass(frozen=True)
class DataSpec:
    """Size and seed of one canonical data set; users defaults to max(10, sessions // 20).

    `syncing` is how many sessions are syncing at once: a count ("100", the same at every size,
    as live mesh activity is) or a share ("1%", growing with the table). `nodes_per_session`
    gives every session exactly that many mesh nodes; None keeps the natural mix (1 to 16).
    """

    sessions: int
    seed: int = 42
    skills: int = 50
    users: int | None = None
    syncing: str = DEFAULT_SYNCING
    nodes_per_session: int | None = None

    def __post_init__(self) -> None:
        if self.users is None:
            object.__setattr__(self, "users", max(10, self.sessions // 20))
        if self.sessions < 1 or self.users < 1 or self.seed < 0:
            raise ValueError("sessions and users must be >= 1 and seed >= 0")
        if not MAX_SKILLS <= self.skills <= len(SKILL_NAMES):
            raise ValueError(f"skills must be between {MAX_SKILLS} and {len(SKILL_NAMES)}")
        if self.nodes_per_session is not None and self.nodes_per_session < 1:
            raise ValueError("nodes_per_session must be >= 1")
        syncing_share(self.syncing, self.sessions)  # refuses a malformed value here, not half way

    @classmethod
    def from_scale(cls, scale: str, seed: int = 42) -> DataSpec:
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}; valid: {', '.join(SCALES)}")
        return cls(sessions=SCALES[scale], seed=seed)

    @property
    def columns(self) -> dict:
        """What each results row says about the data its case ran on (part of the benchmark's key)."""
        return {column: getattr(self, column) for column in DATA_COLUMNS}

    @property
    def label(self) -> str:
        nodes = f", {self.nodes_per_session} nodes each" if self.nodes_per_session else ""
        return f"{self.sessions:,} sessions ({self.syncing} syncing{nodes})"

    def describe(self) -> dict:
        return {"sessions": self.sessions, "users": self.users, "skills": self.skills,
                "seed": self.seed, "syncing": self.syncing, "nodes_per_session": self.nodes_per_session,
                "generator_version": GENERATOR_VERSION, "reference_instant": REFERENCE_INSTANT.isoformat()}


def data_specs(chosen) -> list[DataSpec]:
    """The data sets a run measures on, smallest first: every size x syncing x nodes per session.

    Sizes come from --sessions, else --scale. One size keeps 1% of sessions syncing (as the hub
    looks at any one moment); a sweep holds a fixed 100, so what grows is the table, not the answer.
    """
    sizes = chosen.sessions or [SCALES[scale] for scale in chosen.scale]
    syncing = chosen.syncing or ([DEFAULT_SYNCING] if len(sizes) == 1 else [SWEEP_SYNCING])
    nodes = chosen.nodes_per_session or [None]
    return [DataSpec(sessions=size, seed=chosen.seed, syncing=share, nodes_per_session=count)
            for size in sorted(sizes) for count in nodes for share in syncing]
