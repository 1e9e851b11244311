"""The CI gates: `check` (exact counts and plans against budgets) and `compare` (latency with intervals,
base against head), and `continuous` (both, on two commits)."""
