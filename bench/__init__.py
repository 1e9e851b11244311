"""sessionbench: design variants of an AI hub's session models, measured on real PostgreSQL.

Modules, one job each:
  backends   start or reach a PostgreSQL server (embedded, docker, url) and clean up after it
  data       deterministic canonical data, bulk-loaded once per run
  counting   exact statements sent, client- and server-side
  workloads  the hub's real operations, one small function each
  results    the results file format (the only module that knows it)
  stats      pure statistics; compare, history and gate build on it
  plotting   one look for every chart; report renders the notebooks
  cli        the `sessionbench` command
"""

__version__ = "0.1.0"
