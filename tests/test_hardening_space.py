"""Results are never lost and nothing is half-written when a disk is full or read-only.

A run checks, before it starts anything, that --out and the embedded server's folder have room for
what its plan needs; a results folder that fills up while the run measures gets the measurements
kept elsewhere, said in the last line; every file a command writes (results, merged files, budgets,
notebook copies) appears whole or not at all. Small tmpfs filesystems make the disks: root only.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench import results
from tests.test_hardening_support import FAST, WatchedRun, postgres_under

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "runs"
ONE_WORKLOAD = ["--only", "workload=dashboard"]


@pytest.fixture
def disk(open_tmp_path):
    """mount(size, name) -> a new tmpfs of that size under the test's folder, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = []

    def mount(size: str, name: str = "disk") -> Path:
        folder = open_tmp_path / name
        folder.mkdir()
        if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=755", "tmpfs", str(folder)],
                          capture_output=True).returncode != 0:
            pytest.skip("mounting a tmpfs needs the mount capability")
        mounted.append(folder)
        return folder

    def read_only_over(folder: Path) -> None:
        """`folder` read-only from now on, while files already open in it stay writable (a bind mount)."""
        subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
        mounted.append(folder)
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True)

    mount.read_only_over = read_only_over
    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path, leave: int = 0) -> Path:
    """Take the free space of `folder`'s filesystem, all of it or all but `leave` bytes."""
    filler = folder / "filler"
    with open(filler, "wb") as stream:
        try:
            while True:
                free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize - leave
                if free <= 0:
                    break
                stream.write(b"\0" * min(free, 1 << 20))
                stream.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def read_only(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


def sessionbench(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.cli", *argv], capture_output=True, text=True, cwd=ROOT,
                          timeout=600, env={**os.environ, **(env or {})})


def one_error(done: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("sessionbench: error:")]
    assert len(errors) == 1, done.stderr
    return errors[0]


def nothing_left(tmp: Path) -> None:
    assert postgres_under(str(tmp)) == []
    assert list(tmp.glob("sessionbench-pg-*")) == []


@pytest.mark.db
def test_an_out_without_room_for_the_results_is_refused_before_the_server_starts(disk, open_tmp_path):
    small = disk("64k")
    done = sessionbench("run", "--backend", "embedded", *FAST, *ONE_WORKLOAD, "--out", str(small / "out"),
                        env={"TMPDIR": str(open_tmp_path)})
    assert done.returncode == 2
    line = one_error(done)
    assert line.startswith(f"sessionbench: error: not enough free space for the results in {small / 'out'}: "
                           "the run needs about "), line
    assert "backend embedded" not in done.stdout  # refused before anything started
    assert list(small.iterdir()) == []
    nothing_left(open_tmp_path)


@pytest.mark.db
def test_a_server_folder_without_room_is_refused_before_the_server_starts(disk, open_tmp_path):
    small = disk("16m")
    done = sessionbench("run", "--backend", "embedded", *FAST, *ONE_WORKLOAD, "--out", str(open_tmp_path / "out"),
                        env={"TMPDIR": str(small)})
    assert done.returncode == 2
    line = one_error(done)
    assert line.startswith(f"sessionbench: error: not enough free space for the embedded server's data in {small}: "
                           "the run needs about "), line
    assert list(small.iterdir()) == []
    nothing_left(open_tmp_path)


@pytest.mark.db
@pytest.mark.parametrize("how", ["full", "read-only"])
def test_a_results_folder_that_fails_during_the_run_loses_no_measurement(disk, open_tmp_path, how):
    small = disk("2m")
    out = small / "out"
    run = WatchedRun(open_tmp_path, "run", "--backend", "embedded", *FAST, *ONE_WORKLOAD, "--out", str(out),
                     env={"TMPDIR": str(open_tmp_path)})
    run.wait_for("] ")  # measuring: the space check passed; now the folder fails
    fill(small) if how == "full" else disk.read_only_over(out)
    assert run.finish(600) == 2
    lines = run.stderr.splitlines()
    assert "Traceback" not in run.stderr
    assert lines[-1].startswith(f"sessionbench: error: cannot write {out}/"), lines[-3:]
    kept = Path(lines[-1].rsplit("; the measurements were kept in ", 1)[1])
    assert kept.parent == open_tmp_path and len(results.read(kept)["benchmarks"]) == 19
    # Nothing half-written; a folder turned read-only may keep pytest's own copy, which it cannot remove.
    partial = f".{kept.stem.removeprefix('sessionbench-')}.partial.json"
    assert {path.name for path in out.iterdir() if path.name.endswith((".json", ".tmp"))} <= \
        (set() if how == "full" else {partial})
    nothing_left(open_tmp_path)


@pytest.mark.parametrize("how", ["full", "read-only"])
def test_budgets_on_a_full_or_read_only_disk_stay_whole(disk, how):
    small = disk("64k")
    budgets = small / "budgets.toml"
    shutil.copy(GOLDEN / "budgets.toml", budgets)
    before = budgets.read_bytes()
    fill(small) if how == "full" else read_only(small)
    done = sessionbench("check", str(GOLDEN / "default.json"), "--budgets", str(budgets), "--update")
    assert done.returncode == 2
    assert one_error(done).startswith(f"sessionbench: error: cannot write {budgets}: ")
    assert budgets.read_bytes() == before
    assert sorted(path.name for path in small.iterdir()) == ["budgets.toml", *(["filler"] if how == "full" else [])]


@pytest.mark.parametrize("how", ["full", "read-only"])
def test_a_merge_into_a_full_or_read_only_folder_writes_nothing(disk, how):
    small = disk("64k")
    (small / "merged").mkdir()
    fill(small) if how == "full" else read_only(small)
    done = sessionbench("merge", str(GOLDEN / "shard_1.json"), str(GOLDEN / "shard_2.json"),
                        "--out", str(small / "merged"))
    assert done.returncode == 2
    assert one_error(done).startswith(f"sessionbench: error: cannot write {small / 'merged'}/")
    assert list((small / "merged").iterdir()) == []


def test_notebooks_copied_onto_a_disk_that_fills_leave_nothing_and_copy_again(disk):
    from bench.report import notebook_paths, notebooks_dir

    sources = notebook_paths(notebooks_dir())
    small = disk("1m")
    filler = fill(small, leave=sum(path.stat().st_size for path in sources) // 2)
    target = small / "notebooks"
    done = sessionbench("notebooks", str(target))
    assert done.returncode == 2
    assert one_error(done).startswith(f"sessionbench: error: cannot write notebooks to {target}: ")
    assert not target.exists()  # the folder this copy made, removed with every partial file
    filler.unlink()
    again = sessionbench("notebooks", str(target))
    assert again.returncode == 0, again.stderr
    assert {path.name: path.read_bytes() for path in target.iterdir()} == \
        {path.name: path.read_bytes() for path in sources}


def test_measurements_go_to_the_first_place_that_takes_them(tmp_path):
    from bench.errors import UserError
    from bench.commands.runner import keep_somewhere
    from tests.test_results_untrusted import valid_doc

    blocked = tmp_path / "a-file"
    blocked.write_text("")  # a file where a folder should be: no results can go under it
    failure = UserError("cannot write out/r1.json: No space left on device", "free space there")
    path, line = keep_somewhere(valid_doc(), "r1", failure, places=[blocked / "kept", tmp_path / "cache"])
    assert path == tmp_path / "cache" / "sessionbench-r1.json" and results.read(path)["benchmarks"]
    assert line == f"sessionbench: error: cannot write out/r1.json: No space left on device; the measurements " \
                   f"were kept in {path}"
    with pytest.raises(UserError, match="nowhere else"):
        keep_somewhere(valid_doc(), "r2", failure, places=[blocked / "kept"])
