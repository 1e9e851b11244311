"""The GitHub workflow: valid YAML and a valid workflow by GitHub's schema, actions pinned to commit
hashes on Node 24 majors, no step output spliced into shell text, the pinned install, the matrix."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
# yamllint's defaults, with the repository's line length; `on:` is GitHub's key, not a boolean.
YAMLLINT_CONFIG = "{extends: default, rules: {line-length: {max: 120}, truthy: {check-keys: false}, " \
                  "document-start: disable}}"
# The majors that run on Node 24 (each action's action.yml at that tag says `using: node24`).
CURRENT_MAJORS = {"actions/checkout": 7, "actions/setup-python": 7, "actions/upload-artifact": 7,
                  "actions/download-artifact": 8, "dawidd6/action-download-artifact": 21,
                  "bencherdev/bencher": 0, "benchmark-action/github-action-benchmark": 1}


def _tool(name: str) -> str:
    """A validator installed with the test extras; skip only where it is missing locally."""
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (pip install '.[test]')")
    return found


def _steps():
    for path in WORKFLOWS:
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            yield from job["steps"]


def test_there_is_a_workflow():
    assert [path.name for path in WORKFLOWS] == ["benchmarks.yml", "grid.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_yamllint_passes(path):
    done = subprocess.run([_tool("yamllint"), "--strict", "-d", YAMLLINT_CONFIG, str(path)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_githubs_workflow_schema_accepts_it(path):
    done = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_action_is_pinned_to_a_commit_of_its_current_major():
    lines = [line for path in WORKFLOWS for line in path.read_text().splitlines() if "uses:" in line]
    assert lines
    for line in lines:
        match = re.fullmatch(r"\s*(?:- )?uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40})\s+# v(\d+)(\.\d+)*", line)
        assert match, f"not pinned to a full commit hash with its version in a comment: {line.strip()}"
        assert int(match.group(3)) == CURRENT_MAJORS[match.group(1)], line.strip()


def test_no_expression_is_spliced_into_shell_text():
    """Outputs and contexts reach scripts as environment variables: `${{ }}` inside `run:` would let
    a value (a file name, a branch name) become shell code."""
    runs = [step["run"] for step in _steps() if "run" in step]
    assert runs and not [run for run in runs if "${{" in run]


def test_checkouts_keep_no_credentials():
    checkouts = [step for step in _steps() if step.get("uses", "").startswith("actions/checkout@")]
    assert checkouts and all(step.get("with", {}).get("persist-credentials") is False for step in checkouts)


def test_every_install_uses_the_constraints_ci_pins():
    installs = [step["run"] for step in _steps() if "pip install" in step.get("run", "")]
    assert installs and all(re.search(r"-c (\w+/)?constraints\.txt", run) for run in installs)
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.lstrip().startswith("python -m pip install") and "'.[" in line]
    assert ci and all("-c constraints.txt" in line for line in ci)


def test_the_baseline_is_stored_when_a_case_failed_but_only_with_a_results_file():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "benchmarks.yml").read_text())
    steps = {step.get("name"): step for step in workflow["jobs"]["benchmarks"]["steps"]}
    condition = steps["Store the baseline (main only)"]["if"]
    # Without a status function GitHub adds success(): a failed run step would skip the upload.
    assert "!cancelled()" in condition or "always()" in condition
    assert "steps.run.outputs.file != ''" in condition and "github.event_name != 'pull_request'" in condition


def test_the_tests_run_on_every_supported_python():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "benchmarks.yml").read_text())
    job = workflow["jobs"]["tests"]
    assert job["strategy"]["matrix"]["python-version"] == ["3.11", "3.12", "3.13"]
    assert any(step.get("run") == "python -m pytest" for step in job["steps"])


def test_the_results_file_is_the_one_the_run_printed_not_a_glob():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "benchmarks.yml").read_text())
    run = next(step for step in workflow["jobs"]["benchmarks"]["steps"] if step.get("id") == "run")["run"]
    assert "--print-path" in run and "*.json" not in run


def _benchmarks() -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "benchmarks.yml").read_text())


def test_pull_requests_are_gated_by_sessionbench_continuous_in_one_job():
    """The gate has one owner: the command an engineer runs locally, not a shell loop of its own."""
    job = _benchmarks()["jobs"]["benchmarks"]
    run = next(step for step in job["steps"] if step.get("id") == "run")["run"]
    assert 'sessionbench continuous "$BASE_SHA" HEAD --repo head --install pinned' in run
    for flag in ('--runs-per-side "$RUNS_PER_SIDE"', '--parts "$RUN_PARTS"', '--latency-gate "$LATENCY_GATE"', '--metric "$COMPARE_METRIC"',
                 '--threshold "$COMPARE_THRESHOLD"', '--summary "$GITHUB_STEP_SUMMARY"', "--print-path"):
        assert flag in run, flag
    assert "for side in" not in run and "compare --base" not in run
    checkouts = [step for step in job["steps"] if step.get("uses", "").startswith("actions/checkout@")]
    assert [step["with"].get("fetch-depth") for step in checkouts] == [0]  # the base commit is in the clone
    env = _benchmarks()["env"]
    assert env["LATENCY_GATE"] in ("advisory", "blocking") and int(env["RUNS_PER_SIDE"]) >= 5
    assert 1 <= int(env["RUN_PARTS"]) <= 19  # the default run has 19 comparison groups; a part holds at least one


def test_every_run_script_is_valid_bash():
    scripts = [step["run"] for step in _steps() if "run" in step]
    for script in scripts:
        done = subprocess.run(["bash", "-n", "-c", script], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr + script


def test_bencher_thresholds_are_the_ones_the_dry_run_judges():
    from bench.results.trackers import THRESHOLDS

    steps = _benchmarks()["jobs"]["bencher"]["steps"]
    run = next(step for step in steps if step.get("name") == "Send to Bencher")["run"]
    words = run.replace("\\\n", " ").split()
    words = words[words.index("bencher"):]
    assert words[:2] == ["bencher", "run"] and "--err" in words and "--thresholds-reset" in words
    given = [words[i + 1] for i, word in enumerate(words)
             if word.startswith("--threshold-") and word != "--thresholds-reset"]
    assert given == [value for threshold in THRESHOLDS for value in threshold.flags()[1::2]]
    assert "--adapter json --file trackers/*.bencher.json" in " ".join(words)


@pytest.mark.parametrize("job, variables, line", [
    ("bencher", {"BENCHER_API_TOKEN": "", "BENCHER_PROJECT": ""}, "Bencher upload skipped"),
    ("github-action-benchmark", {"ENABLED": "false"}, "github-action-benchmark skipped"),
])
def test_a_tracker_without_its_secret_or_variable_is_skipped_with_one_summary_line(job, variables, line, tmp_path):
    steps = _benchmarks()["jobs"][job]["steps"]
    for step in steps:
        condition = step.get("if", "")
        enabled = all(f"env.{name} != ''" in condition or f"env.{name} == 'true'" in condition for name in variables)
        skipped = all(f"env.{name} == ''" in condition or f"env.{name} != 'true'" in condition for name in variables)
        assert enabled != skipped, f"{job}: step {step.get('name') or step.get('uses')} runs either way"
        if skipped:
            summary = tmp_path / "summary.md"
            done = subprocess.run(["bash", "-eo", "pipefail", "-c", step["run"]], capture_output=True, text=True,
                                  env={"GITHUB_STEP_SUMMARY": str(summary), "PATH": "/usr/bin:/bin"}, check=False)
            assert done.returncode == 0 and summary.read_text().count("\n") == 1 and line in summary.read_text()
    if job == "github-action-benchmark":
        env = _benchmarks()["jobs"][job]["env"]["ENABLED"]
        assert "github.event_name == 'push'" in env and "refs/heads/main" in env
        assert "vars.GITHUB_ACTION_BENCHMARK == 'true'" in env
        counts = next(step for step in steps if step.get("name", "").startswith("Counts"))
        assert counts["with"]["alert-threshold"] == "100%" and counts["with"]["fail-on-alert"] is True


def test_the_pinned_image_is_pulled_and_kept_current_by_dependabot():
    dockerfile = (ROOT / ".github" / "postgres" / "Dockerfile").read_text()
    (pin,) = [line.removeprefix("FROM ") for line in dockerfile.splitlines() if line.startswith("FROM ")]
    for workflow in ("benchmarks.yml", "grid.yml"):
        doc = yaml.safe_load((ROOT / ".github" / "workflows" / workflow).read_text())
        tag = doc["env"]["SESSIONBENCH_PG_IMAGE"]
        # the names keep the tag; the pull is pinned by digest (a tag moves)
        assert re.fullmatch(re.escape(tag) + "@sha256:[0-9a-f]{64}", pin), pin
        pulls = [step["run"] for job in doc["jobs"].values() for step in job["steps"]
                 if "docker pull" in step.get("run", "")]
        assert pulls and all("postgres/Dockerfile" in run and 'docker tag "$pinned" "$SESSIONBENCH_PG_IMAGE"' in run
                             for run in pulls)
    dependabot = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    ecosystems = {(u["package-ecosystem"], u["directory"]) for u in dependabot["updates"]}
    assert {("docker", "/.github/postgres"), ("github-actions", "/")} <= ecosystems
    done = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.dependabot",
                           str(ROOT / ".github" / "dependabot.yml")], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def _grid() -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "grid.yml").read_text())


def test_the_grid_runs_nightly_and_by_hand_with_shards_and_scale():
    triggers = _grid()[True]  # PyYAML reads the key `on` as True
    assert triggers["schedule"][0]["cron"] == "17 2 * * *"
    inputs = triggers["workflow_dispatch"]["inputs"]
    assert inputs["shards"]["default"] == 8 and inputs["scale"]["options"] == ["small", "medium", "large"]


def test_the_grid_plan_numbers_the_shards_for_the_matrix(tmp_path):
    """The plan step's own script, run here: the matrix gets [1..N], a bad count fails the step."""
    script = next(step for step in _grid()["jobs"]["plan"]["steps"] if step.get("id") == "split")["run"]
    for shards, code, expected in (("8", 0, "count=8\nshards=[1,2,3,4,5,6,7,8]\n"), ("1", 0, "count=1\nshards=[1]\n"),
                                   ("0", 1, ""), ("257", 1, ""), ("2; rm -rf /", 1, ""), ("", 1, "")):
        output = tmp_path / f"out-{code}-{len(shards)}"
        output.write_text("")
        done = subprocess.run(["bash", "-eo", "pipefail", "-c", script], capture_output=True, text=True, check=False,
                              env={"SHARDS": shards, "GITHUB_OUTPUT": str(output), "PATH": "/usr/bin:/bin"})
        assert (done.returncode, output.read_text()) == (code, expected), done.stdout


def test_each_shard_runs_the_full_grid_on_its_own_runner_and_keeps_its_file():
    job = _grid()["jobs"]["shard"]
    assert job["needs"] == "plan" and job["strategy"]["fail-fast"] is False
    assert job["strategy"]["matrix"]["k"] == "${{ fromJSON(needs.plan.outputs.shards) }}"
    run = next(step for step in job["steps"] if step.get("id") == "run")
    assert run["env"]["SHARD"] == "${{ matrix.k }}/${{ needs.plan.outputs.count }}"
    assert all(flag in run["run"] for flag in ("--grid full", '--shard "$SHARD"', "--backend docker", "--print-path"))
    upload = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["name"] == "grid-shard-${{ matrix.k }}" and "always()" in upload["if"]


def test_the_merge_job_merges_every_shard_and_keeps_the_report():
    job = _grid()["jobs"]["merge"]
    assert job["needs"] == ["plan", "shard"] and "!cancelled()" in job["if"]
    steps = job["steps"]
    download = next(step for step in steps if step.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"] == {"pattern": "grid-shard-*", "path": "shards", "merge-multiple": True}
    runs = [step.get("run", "") for step in steps]
    assert any("sessionbench merge shards/*.json" in run and "--print-path" in run for run in runs)
    assert any(run.startswith('sessionbench report "$MERGED"') for run in runs)
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-artifact@"))
    assert "report/" in upload["with"]["path"] and "merged/" in upload["with"]["path"]


def test_each_run_publishes_its_html_report_and_links_it_from_the_summary():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "benchmarks.yml").read_text())
    steps = {step.get("name"): step for step in workflow["jobs"]["benchmarks"]["steps"]}
    build = steps["Build the HTML report"]
    assert build["run"].startswith('venv-head/bin/sessionbench report "$RESULTS_FILE"')
    assert "steps.run.outputs.file != ''" in build["if"] and "!cancelled()" in build["if"]
    keep = steps["Keep the HTML report"]
    assert keep["uses"].startswith("actions/upload-artifact@") and keep["with"]["path"] == "report/"
    assert keep["with"]["name"] == "benchmark-report-${{ github.run_id }}"
    link = steps["Link the report from the summary"]
    assert "steps.keep-report.outputs.artifact-url" in link["env"]["REPORT_URL"]
    assert "GITHUB_STEP_SUMMARY" in link["run"]
    readme = (ROOT / "README.md").read_text()
    assert "benchmark-report-" in readme and "actions/workflows/benchmarks.yml" in readme
