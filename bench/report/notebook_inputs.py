"""The notebooks' `results` parameter, as papermill and the report hand it over.

`papermill NB out.ipynb -p results RUN.json` passes one string; `-y "results: [A.json, B.json]"`,
the report and Jupyter users pass a list. Every notebook turns either into a list of paths here,
so no notebook iterates over a path's characters.
"""

from __future__ import annotations

import os

from bench.errors import UserError


def result_paths(results) -> list[str]:
    """A list of results file paths from one path, a list of them, or nothing (an empty list)."""
    if results is None:
        return []
    if isinstance(results, (str, os.PathLike)):
        text = os.fspath(results).strip()
        return [text] if text else []
    if isinstance(results, (list, tuple)) and all(isinstance(p, (str, os.PathLike)) for p in results):
        return [os.fspath(p) for p in results if os.fspath(p).strip()]
    raise UserError(f"results: expected a results file path or a list of them, got {results!r}",
                    "e.g. papermill NB.ipynb out.ipynb -p results results/RUN.json")
