"""Jupyter is part of the product: after the README's install, Jupyter serves the notebooks and
runs them top to bottom on the installed kernel, which imports sessionbench."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from importlib.metadata import requires
from pathlib import Path

import nbformat
import psutil
import pytest

from tests.runs import ROOT, tiny_dashboard_run

BIN = Path(sys.executable).parent  # where `pip install .` put sessionbench's and Jupyter's commands


def _command(name: str) -> str:
    path = BIN / name
    assert path.exists(), f"{name} is not installed next to this Python ({BIN})"
    return str(path)


def _jupyter_env(tmp_path: Path) -> dict:
    """This user's Jupyter files stay untouched: runtime and config folders of the test's own."""
    return {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
            "JUPYTER_CONFIG_DIR": str(tmp_path / "config")}


@pytest.fixture
def notebook_folder(tmp_path) -> Path:
    """The notebooks as a user gets them: `sessionbench notebooks DIR`."""
    folder = tmp_path / "notebooks"
    subprocess.run([_command("sessionbench"), "notebooks", str(folder)], check=True, capture_output=True,
                   text=True, cwd=tmp_path)
    return folder


def test_the_install_brings_jupyter_lab():
    assert any(req.startswith("jupyterlab") for req in requires("sessionbench"))
    done = subprocess.run([_command("jupyter-lab"), "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip()[0].isdigit(), done.stderr


@pytest.mark.db
@pytest.mark.slow
def test_nbconvert_runs_a_notebook_top_to_bottom_on_the_installed_kernel(notebook_folder, tmp_path_factory,
                                                                         tmp_path):
    run_file = tiny_dashboard_run(tmp_path_factory)
    source = notebook_folder / "01_loading.ipynb"
    nb = nbformat.read(source, as_version=4)
    assert nb.metadata.kernelspec.name == "python3"  # as stored: the kernel ipykernel installs
    # Parameters the way papermill injects them: a cell right after the one tagged `parameters`.
    at = next(i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", []))
    injected = nbformat.v4.new_code_cell(f"results = [{run_file!r}]\nout_dir = {str(tmp_path / 'charts')!r}")
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(at + 1, injected)
    nb.cells.append(nbformat.v4.new_code_cell("import sys, bench\nprint(sys.executable)\nprint(bench.__file__)"))
    nbformat.write(nb, source)
    done = subprocess.run([_command("jupyter"), "nbconvert", "--to", "notebook", "--execute", "--output",
                           "executed", str(source)], capture_output=True, text=True, env=_jupyter_env(tmp_path),
                          cwd=tmp_path, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    executed = nbformat.read(notebook_folder / "executed.ipynb", as_version=4)
    outputs = [out for cell in executed.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    published = source.read_text().count("plotting.publish(")
    drawn = sum("image/png" in out.get("data", {}) for out in outputs)
    missing = sum('class="not-measured"' in out.get("data", {}).get("text/markdown", "") for out in outputs)
    assert drawn + missing == published and drawn >= 3  # a chart the run did not measure: one line, no file
    assert len(list((tmp_path / "charts").glob("*.png"))) == drawn
    kernel_python, bench_file = executed.cells[-1].outputs[0].text.split()
    assert Path(kernel_python).parent == BIN  # this environment's Python, not another on PATH
    assert Path(bench_file).parent.name == "bench"
    assert not list((tmp_path / "runtime").glob("kernel-*.json"))  # the kernel was shut down


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, token: str | None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.slow
def test_jupyter_lab_serves_the_notebooks_and_the_kernel_and_stops_cleanly(notebook_folder, tmp_path):
    port, token = _free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "jupyter-lab.log").open("w")
    server = subprocess.Popen(
        [_command("jupyter-lab"), "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={notebook_folder}",
         "--ServerApp.allow_root=True"],
        stdout=log, stderr=subprocess.STDOUT, env=_jupyter_env(tmp_path), cwd=tmp_path)
    process = psutil.Process(server.pid)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (tmp_path / "jupyter-lab.log").read_text()[-2000:]
            try:
                if _get(f"{base}/api/status", token)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "jupyter lab did not answer within 120 s"
            time.sleep(0.5)

        status, body = _get(f"{base}/api/contents/01_loading.ipynb", token)
        assert status == 200
        model = json.loads(body)
        assert (model["type"], model["format"]) == ("notebook", "json")
        assert len(model["content"]["cells"]) == len(nbformat.read(notebook_folder / "01_loading.ipynb", 4).cells)
        status, body = _get(f"{base}/api/contents", token)
        assert sorted(item["name"] for item in json.loads(body)["content"]) == sorted(
            p.name for p in notebook_folder.iterdir())
        status, body = _get(f"{base}/api/kernelspecs", token)
        specs = json.loads(body)
        assert status == 200 and specs["default"] == "python3"
        argv = specs["kernelspecs"]["python3"]["spec"]["argv"]
        # ipykernel's spec says "python", which jupyter_client runs as the server's own interpreter.
        assert argv[0] in ("python", "python3", sys.executable) and argv[1:3] == ["-m", "ipykernel_launcher"]
        status, page = _get(f"{base}/lab", token)
        assert status == 200 and b"JupyterLab" in page
        assert _get(f"{base}/api/contents/01_loading.ipynb", None)[0] == 403  # the token is required
        children = process.children(recursive=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
            log.close()
    assert not [child for child in children if child.is_running() and child.status() != psutil.STATUS_ZOMBIE]
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more
    assert not list((tmp_path / "runtime").glob("jpserver-*"))  # stopped cleanly, its files removed
