"""sessionbench: design variants of an AI hub's session models, measured on real PostgreSQL.

The folders are the pipeline, in the order a run goes through them (README, "Layout"):
  plan       settings, cases, shards, the recommended model: what a run will measure
  backends   start or reach a PostgreSQL server (embedded, docker, url) and clean up after it
  data       deterministic canonical data, bulk-loaded once per run
  workloads  the hub's real operations, one small function each
  benchmarks the pytest-benchmark suite `sessionbench run` drives (also plain `pytest bench/benchmarks`)
  measure    one case: exact counts, warm-up, interleaved timed trials, CPU and server time
  load, net  concurrent clients and node writes; added network round-trip time
  results    the results file (its only reader and writer), merge, export, trackers
  analysis   statistics, ratios, growth, units: numbers from results, no drawing
  verdicts   the review's claims C1-C6 judged from the numbers, and what to do
  gate       check (exact facts) and compare (latency) for CI
  report     charts, the HTML report, history
  commands   the subcommands; cli parses and dispatches
"""

__version__ = "0.1.0"
