"""The CI gates: `check` (exact counts and plans against budgets) and `compare` (latency with intervals,
base against head: its rule in `rule`, the runs it reads in `sides`, its printed table in `table`), and
`continuous` (both, on two commits)."""
