"""`sessionbench notebooks DIR`: copy the shipped notebooks out of an installed sessionbench.

After `pip install sessionbench` the notebooks live inside site-packages; this puts them in a
folder of the user's own to open with `jupyter lab DIR`. The folder must be new or empty, and
no file is ever replaced: each copy is created exclusively.
"""

from __future__ import annotations

from pathlib import Path

from bench.errors import UserError


def copy_notebooks(folder: str | Path) -> int:
    """Copy every shipped notebook into `folder`; print one line saying what was written. Exit 0."""
    from bench.report import notebooks_dir, notebook_paths

    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise UserError(f"{target} is a file, not a folder", "pass a new folder")
    if target.is_dir() and any(target.iterdir()):
        raise UserError(f"{target} is not empty; notebooks are copied only into a new or empty folder",
                        "pass a new folder")
    sources = notebook_paths(notebooks_dir())
    if not sources:
        raise UserError(f"no notebooks shipped in {notebooks_dir()}", "reinstall sessionbench")
    try:
        target.mkdir(parents=True, exist_ok=True)
        for source in sources:
            with open(target / source.name, "xb") as copy:  # "x": never replaces a file
                copy.write(source.read_bytes())
    except FileExistsError as exc:
        raise UserError(f"{exc.filename} appeared while copying; it was left as it is", "pass a new folder") from None
    except OSError as exc:
        raise UserError(f"cannot write notebooks to {target}: {exc.strerror}", "pass a writable folder") from None
    print(f"copied {len(sources)} notebooks to {target} ({', '.join(s.name for s in sources)}); "
          f"open them with: jupyter lab {target}")
    return 0
