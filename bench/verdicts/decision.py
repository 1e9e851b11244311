"""The decision, machine-readable: per claim its verdict, the recommended variant(s) with their ties,
the action on the review's recommendation, the deciding numbers and the rule, and the assumptions
they rest on (`sessionbench verdicts RUN.json [...] --format json|markdown`).

It is built from the one analysis (bench.verdicts.judge_all) the report's verdict table and "What to
do" read too, so a number stated in one is the number stated in the others. Results files are
untrusted: every string from one is printed as data (JSON), or escaped for Markdown tables.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.analysis import end_to_end
from bench.plan.recommended import DECIDED_BY, RECOMMENDED
from bench.results import load, read, run_info
from bench.verdicts import CHANGES, RULES, STATEMENTS, judge_all
from bench.verdicts import moved
from bench.verdicts.decisions import delete_paths
from bench.verdicts.profile import DEFAULTS, Profile, load_profile
from bench.verdicts.profile import said as value_said
from bench.verdicts.rules import FIX_RATIO, MARGIN
from bench.verdicts.sensitivity import break_evens

SCHEMA = "sessionbench-decision/1"
FORMATS = ("markdown", "json")


def decision(paths: list[str], profile: Profile = DEFAULTS) -> dict:
    """The decision on the review's claims from these results files (several are pooled), for the hub the
    profile describes (bench.verdicts.profile; its defaults when none is given)."""
    df = load(paths)
    paths_facts = delete_paths(paths)
    judged = judge_all(df, paths_facts, **profile.options())
    costs = end_to_end.costs(df)
    evens = break_evens(df, profile, paths_facts)
    claims = []
    for claim, judgement in judged.items():
        choice = judgement.choice
        claims.append({
            "claim": claim, "statement": STATEMENTS[claim], "verdict": judgement.verdict,
            "recommended": [judgement.recommended] if judgement.recommended else [],
            "tie": bool(choice and choice.tied),
            "tied_with": list(choice.tied) if choice else [],
            "decided_by": ("latency, beyond the margin" if choice.won else choice.broke_tie or "the only undominated")
            if choice and choice.chosen else "",
            "action": judgement.action, "reason": judgement.reason, "deciding": judgement.deciding,
            "rule": RULES[claim], "what_changes_it": CHANGES[claim],
            # For each profile value the rule reads: where the answer would change (bench.verdicts.sensitivity).
            "break_even": evens.get(claim, []),
            "halves": [{"half": half, "answer": answer, "deciding": said} for half, answer, said in judgement.halves],
            "costs": _costs_of(claim, costs),
        })
    return {
        "schema": SCHEMA,
        "runs": [{"run_id": run_info(read(path)).get("run_id"), "file": Path(path).name} for path in paths],
        "profile": profile.as_dict(),
        # The rule's own numbers, stated before any run.
        "rule": {"margin": MARGIN, "fix_ratio": FIX_RATIO},
        "claims": claims,
        # Facts read as exact that differed between the pooled runs (bench.verdicts.moved): each is read as
        # its median over the runs.
        "facts_moved": moved.moved(df),
        # What the combination of every claim's choice costs against the model as reviewed.
        "recommended_model": {"variant": RECOMMENDED.label, **costs},
    }


def _costs_of(claim: str, costs: dict) -> list[str]:
    """The workloads the claim's own choice makes slower, and the bytes it adds: what its advice costs."""
    axis = next((a for a, c in DECIDED_BY.items() if c == claim), None)
    if axis is None:
        return []
    choice = f"{axis}={getattr(RECOMMENDED, axis)}"
    said = [f"{row['workload']}{' ' + row['param'] if row['param'] else ''}: {cause.removeprefix(choice).strip()} "
            f"slower" for row in costs["slower"] for cause in row["caused_by"] if cause.startswith(choice + " ")]
    said += [f"+{cause.split('+', 1)[1]} bytes of table and indexes" for cause in costs["larger"].get("caused_by", [])
             if cause.startswith(choice + " ")]
    return said


def _cell(value) -> str:
    """A Markdown table cell: pipes escaped, one line."""
    return " ".join(str(value).split()).replace("|", "\\|")


def markdown(found: dict) -> str:
    lines = [f"Decision on {len(found['runs'])} run(s): " + ", ".join(_cell(r["file"]) for r in found["runs"]), "",
             "| claim | verdict | recommended | action | why |", "|---|---|---|---|---|"]
    for claim in found["claims"]:
        recommended = ", ".join(claim["recommended"]) or "-"
        if claim["tie"]:
            recommended += f" (a tie with {', '.join(claim['tied_with'])}; decided by {claim['decided_by']})"
        lines.append(f"| {claim['claim']} | {claim['verdict']} | {_cell(recommended)} | {claim['action']} | "
                     f"{_cell(claim['reason'] or claim['deciding'])} |")
    evens = [f"{claim['claim']} by {even['parameter']} (judged at {value_said(even['parameter'], even['judged_at'])}): "
             f"{even['said']}"
             for claim in found["claims"] for even in claim.get("break_even", [])]
    if evens:
        lines += ["", "Break-evens (the other values held fixed):"] + [f"- {_cell(said)}" for said in evens]
    if found.get("facts_moved"):
        lines += ["", "Facts that moved between the runs (each read as its median): "
                  + _cell(moved.said(found["facts_moved"]))]
    profile = found["profile"]
    said = f"profile {_cell(profile['file'])} (sha256 {profile['sha256'][:12]})" if profile["file"] else "no profile"
    lines[:0] = [f"Hub: {said}; stated: " + (", ".join(f"{k} = {value_said(k, v)}" for k, v in profile["stated"].items()) or "nothing"), ""]
    assumed = [f"{k} = {profile['assumed_said'][k]}" for k in profile["assumed"] if k in profile["read_by"]]
    lines += ["", "Assumed (defaults, not the hub's own figures): " + (", ".join(assumed) or "nothing"),
        "Rule: " + ", ".join(f"{k} = {v}" for k, v in found["rule"].items())]
    if profile["stated_but_not_used_by_a_rule"]:
        lines.append("Stated, read by no rule yet: " + ", ".join(profile["stated_but_not_used_by_a_rule"]))
    return "\n".join(lines)


def print_decision(paths: list[str], fmt: str = "markdown", profile: str | None = None) -> int:
    found = decision(paths, load_profile(profile))
    print(json.dumps(found, indent=1) if fmt == "json" else markdown(found))
    return 0
