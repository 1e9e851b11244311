"""The README's command list and its set-up steps agree with the command itself."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.quick  # `python -m pytest -m "quick and not slow"`: the README's first-hour check
ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _block(heading: str) -> str:
    section = README.split(f"\n## {heading}\n", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


def _commands_and_options() -> dict[str, set[str]]:
    from bench.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    found = {name: {o for a in sub._actions for o in a.option_strings if o.startswith("--") and o != "--help"}
             for name, sub in commands.items()}
    found[""] = {o for a in parser._actions for o in a.option_strings if o.startswith("--") and o != "--help"}
    return found


def test_the_command_list_names_every_subcommand_and_option_and_nothing_else():
    helped = _commands_and_options()
    listed: dict[str, set[str]] = {}
    current = None
    for line in _block("Commands").splitlines():
        line = line.split("#", 1)[0]
        words = line.split()
        if words[:1] == ["sessionbench"]:
            current = words[1] if not words[1].startswith("--") else ""
        listed.setdefault(current, set()).update(re.findall(r"--[a-z][a-z-]*", line))
    assert set(listed) == set(helped)
    for name, options in helped.items():
        assert listed[name] == options, f"sessionbench {name}: README lists {sorted(listed[name] - options)} " \
                                        f"that --help does not, misses {sorted(options - listed[name])}"


def test_set_up_makes_a_virtual_environment_and_says_how_long_each_step_took():
    setup = README.split("\n## Set up\n", 1)[1].split("\n## ", 1)[0]
    assert "python3 -m venv .venv && . .venv/bin/activate" in setup
    timed = {line.split("#", 1)[0].strip(): line.split("#", 1)[1] for line in setup.splitlines() if "  # " in line}
    for step in ("python3 -m venv .venv && . .venv/bin/activate", "pip install .", "sessionbench run",
                 "sessionbench report results/*.json", "pip install '.[test]'",
                 'python -m pytest -m "quick and not slow"', "python -m pytest"):
        assert re.match(r" \d+(\.\d+)? (s|min)", timed[step]), step  # a measured time beside the step


def test_the_full_suite_is_still_what_ci_runs():
    assert "python -m pytest\n" in (ROOT / ".ci" / "run").read_text()
