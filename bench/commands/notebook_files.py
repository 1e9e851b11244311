"""`sessionbench notebooks DIR`: copy the shipped notebooks out of an installed sessionbench.

After `pip install sessionbench` the notebooks live inside site-packages; this puts them in a
folder of the user's own to open with `jupyter lab DIR`. The folder must be new or empty, and
no file is ever replaced: each copy is created exclusively.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from bench.errors import UserError


def _copy_whole(source: Path, final: Path) -> Path:
    """Copy into a hidden temporary file, then link it to its name: the name appears whole or not at all,
    and never replaces a file (a link fails on an existing name)."""
    handle, temp = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as copy:
            copy.write(source.read_bytes())
            copy.flush()
            os.fsync(copy.fileno())
        os.link(temp, final)
    finally:
        Path(temp).unlink(missing_ok=True)
    return final


def _remove(written: list[Path], folder: Path | None) -> None:
    for path in written:
        with contextlib.suppress(OSError):
            path.unlink()
    if folder is not None:
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty: made by this copy, left as it was found


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
    made_folder = not target.exists()
    written: list[Path] = []  # removed again if the copy fails: a retry finds the folder as it was
    try:
        target.mkdir(parents=True, exist_ok=True)
        for source in sources:
            written.append(_copy_whole(source, target / source.name))
    except FileExistsError as exc:
        _remove(written, target if made_folder else None)
        raise UserError(f"{exc.filename} appeared while copying; it was left as it is", "pass a new folder") from None
    except OSError as exc:
        _remove(written, target if made_folder else None)
        raise UserError(f"cannot write notebooks to {target}: {exc.strerror or exc}; nothing was left there",
                        "free space there, or pass a writable folder") from None
    print(f"copied {len(sources)} notebooks to {target} ({', '.join(s.name for s in sources)}); "
          f"open them with: jupyter lab {target}")
    return 0
