"""Fails when an axis value is declared but no models test exercises it.

A value counts as exercised when some collected test id in tests/test_models_*.py carries
"axis=value" (the ids `along()` gives). Collection runs in a subprocess so this test gives
the same answer alone or in a full run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from models_variants import AXES

ROOT = Path(__file__).resolve().parent.parent


def collected_ids() -> list[str]:
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_models_*.py"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    result = subprocess.run([*command, *files], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_every_declared_axis_value_is_exercised():
    ids = collected_ids()
    assert len(ids) > 50
    missing = [f"{axis}={value}" for axis in AXES for value in AXES[axis].values
               if not any(f"{axis}={value}]" in i or f"{axis}={value}-" in i for i in ids)]
    assert missing == []
