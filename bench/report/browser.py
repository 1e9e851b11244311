"""The report as a browser shows it, through headless Chromium (no other dependency): what the page
measures at a window size (`probe`) and screenshots of its first screen and of each section
(`sessionbench screenshots REPORT.html`), for the README and for reviews.

Chromium runs on a copy of the page beside it, with a script that measures the layout after load and
writes the numbers into the DOM Chromium prints; nothing is served and nothing is fetched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.errors import UserError

FIRST_SCREEN = (1280, 800)
TIMEOUT_S = 120

# After load: the page's size, what sticks out of the window (outside a box that scrolls on its own),
# boxes that scroll sideways, where each section and the decision's rows end, the images.
PROBE = """<script>
window.addEventListener('load', function () {
  var W = window.innerWidth, doc = document.documentElement, out = {};
  out.window = [W, window.innerHeight]; out.height = doc.scrollHeight; out.page_width = doc.scrollWidth;
  function scrolled(el) { for (var p = el.parentElement; p; p = p.parentElement) {
      var s = getComputedStyle(p).overflowX; if (s === 'auto' || s === 'scroll') return true; } return false; }
  out.wider = []; out.scrollers = [];
  document.querySelectorAll('body *').forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.width && r.right > W + 1 && !scrolled(el)) out.wider.push(el.tagName + '.' + el.className);
    var s = getComputedStyle(el).overflowX;
    if ((s === 'auto' || s === 'scroll') && el.scrollWidth > el.clientWidth + 1)
      out.scrollers.push({text: (el.innerText || '').slice(0, 60), width: el.scrollWidth, shown: el.clientWidth,
                          decision: !!el.querySelector('table.decision')});
  });
  out.sections = [];
  document.querySelectorAll('main > section').forEach(function (s) {
    var r = s.getBoundingClientRect();
    out.sections.push({id: s.id, top: Math.round(r.top + scrollY), bottom: Math.round(r.bottom + scrollY)}); });
  out.decision_rows = [];
  document.querySelectorAll('table.decision tbody tr').forEach(function (tr) {
    var cells = tr.querySelectorAll('td'), r = tr.getBoundingClientRect();
    out.decision_rows.push({claim: cells[0].innerText.split(':')[0], verdict: cells[1].innerText,
                            action: cells[2].querySelector('.action').innerText,
                            bottom: Math.round(r.bottom + scrollY),
                            right: Math.round(Math.max(cells[1].getBoundingClientRect().right,
                                                       cells[2].getBoundingClientRect().right))}); });
  out.images = [];
  document.querySelectorAll('img').forEach(function (img) {
    out.images.push({alt: img.alt, loaded: img.complete && img.naturalWidth > 0, src_length: img.src.length,
                     key: img.src.slice(-64) + img.src.length}); });
  out.tables = document.querySelectorAll('table').length;
  out.decision_tables = document.querySelectorAll('table.decision').length;
  document.body.setAttribute('data-probe', JSON.stringify(out));
});
window.addEventListener('error', function (e) {
  document.documentElement.setAttribute('data-errors', (document.documentElement.getAttribute('data-errors') || '')
                                        + e.message + '\\n'); });
</script>"""


def chromium() -> str | None:
    """Chromium's command, or None when it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _command(width: int, height: int, profile: str) -> list[str]:
    found = chromium()
    if found is None:
        raise UserError("headless Chromium is not installed", "install it (Debian: apt-get install chromium)")
    return [found, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--virtual-time-budget=10000",
            f"--window-size={width},{height}", f"--user-data-dir={profile}"]


def _copy(page: Path, extra: str, folder: Path) -> Path:
    """The page with `extra` before </body>, beside a private profile (the original is never touched)."""
    copy = folder / "page.html"
    copy.write_text(page.read_text(encoding="utf-8").replace("</body>", extra + "</body>", 1), encoding="utf-8")
    return copy


def probe(page: str | Path, width: int = FIRST_SCREEN[0], height: int = FIRST_SCREEN[1]) -> dict:
    """What the page measures in a window of `width` x `height` (see PROBE), and any script error."""
    from bs4 import BeautifulSoup

    page = Path(page).resolve()
    with tempfile.TemporaryDirectory(prefix="sessionbench-browser-") as folder:
        copy = _copy(page, PROBE, Path(folder))
        done = subprocess.run([*_command(width, height, str(Path(folder) / "profile")), "--dump-dom",
                               copy.as_uri()], capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    soup = BeautifulSoup(done.stdout, "html.parser")
    if done.returncode != 0 or soup.body is None or not soup.body.get("data-probe"):
        raise UserError(f"Chromium could not load {page.name} (exit {done.returncode})", "open it in a browser")
    found = json.loads(soup.body["data-probe"])
    found["errors"] = [line for line in (soup.html.get("data-errors") or "").splitlines() if line]
    return found


def _only(section: str) -> str:
    """A style that leaves the title and one section on the page."""
    return (f'<style>main > section:not([id="{section}"]) {{ display: none !important; }}'
            "main > h1 { display: none; }</style>")


def screenshots(page: str | Path, out: str | Path | None = None) -> list[Path]:
    """PNG files of the first screen (1280 x 800) and of each section, whole, at 1280 px wide, in a new
    folder `out` (default: `screenshots` beside the page). An existing folder is never written into."""
    page = Path(page).resolve()
    if not page.is_file():
        raise UserError(f"no report at {page}", "pass the report.html that `sessionbench report` printed")
    target = Path(out) if out else page.parent / "screenshots"
    if target.exists():
        raise UserError(f"{target} already exists", "pass --out with a new folder")
    sections = [s for s in probe(page)["sections"] if re.fullmatch(r"[A-Za-z0-9_-]+", s["id"])]
    width, height = FIRST_SCREEN
    made: list[Path] = []
    building = Path(tempfile.mkdtemp(prefix=".screenshots-", dir=target.parent if target.parent.exists() else None))
    umask = os.umask(0)
    os.umask(umask)
    building.chmod(0o777 & ~umask)  # mkdtemp's 0700 is for the build; the folder is shared like the report
    try:
        with tempfile.TemporaryDirectory(prefix="sessionbench-browser-") as folder:
            shots = [("first-screen", "", height)]
            shots += [(s["id"], _only(s["id"]), max(200, s["bottom"] - s["top"] + 40)) for s in sections]
            for index, (name, style, tall) in enumerate(shots, start=1):
                copy = _copy(page, style, Path(folder))
                shot = building / f"{index:02d}-{name[:60]}.png"
                subprocess.run([*_command(width, min(tall, 16000), str(Path(folder) / "profile")),
                                f"--screenshot={shot}", copy.as_uri()], capture_output=True, timeout=TIMEOUT_S,
                               check=False)
                if not shot.is_file():
                    raise UserError(f"Chromium made no screenshot of {name}", "open the report in a browser")
                made.append(target / shot.name)
                print(f"[{index}/{len(shots)}] {shot.name}", flush=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(building, target)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return made


def main_screenshots(page: str, out: str | None) -> int:
    made = screenshots(page, out)
    print(f"screenshots: {made[0].parent} ({len(made)} PNG files: the first screen and each section)")
    return 0
