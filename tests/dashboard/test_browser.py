"""A real headless Chromium renders the running dashboard; the screenshot is kept as an artefact.

``streamlit run`` serves the app on a free port (fixture ``streamlit_server``); Chromium's
``--dump-dom`` is polled until the KPI tiles are in the page (Streamlit renders over a
websocket after the first load), then ``--screenshot`` saves ``tests/artifacts/dashboard.png``.
No DevTools protocol: each Chromium call is a plain subprocess with a fresh profile.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.dashboard.conftest import ARTIFACTS

pytestmark = pytest.mark.dashboard

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--hide-scrollbars",
    "--window-size=1400,2300",
)
KPI_LABELS = ("Registered", "Attended", "Show-up rate", "Avg minutes watched")


def _chromium(url: str, *args: str, timeout: float = 60) -> str:
    assert CHROMIUM
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        proc = subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, url],
            capture_output=True, text=True, timeout=timeout, check=False,
        )
    return proc.stdout


def _kpis_rendered(dom: str) -> bool:
    return 'data-testid="stMetricValue"' in dom and all(label in dom for label in KPI_LABELS)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: run scripts/ensure_chromium.sh as root")
def test_chromium_renders_kpis_and_saves_a_screenshot(streamlit_server: str) -> None:
    deadline = time.monotonic() + 60
    dom = ""
    while time.monotonic() < deadline:
        dom = _chromium(streamlit_server, "--virtual-time-budget=15000", "--dump-dom")
        if _kpis_rendered(dom):
            break
        time.sleep(1)
    assert _kpis_rendered(dom), dom[-3000:]
    assert "Loaded at" in dom
    assert "Traceback" not in dom and 'data-testid="stException"' not in dom

    _screenshot(streamlit_server, ARTIFACTS / "dashboard.png")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: run scripts/ensure_chromium.sh as root")
def test_chromium_renders_the_upcoming_view_and_saves_a_screenshot(streamlit_server: str) -> None:
    url = streamlit_server.rstrip("/") + "/?view=upcoming"
    deadline = time.monotonic() + 60
    dom = ""
    while time.monotonic() < deadline:
        dom = _chromium(url, "--virtual-time-budget=15000", "--dump-dom")
        if "Upcoming webinars (" in dom and "Registration pace of" in dom:
            break
        time.sleep(1)
    assert "Upcoming webinars (" in dom and "Forecast registrations" in dom, dom[-3000:]
    assert "Traceback" not in dom and 'data-testid="stException"' not in dom
    _screenshot(url, ARTIFACTS / "dashboard_upcoming.png")


def _screenshot(url: str, png: Path) -> None:
    """Save a screenshot of ``url`` that looks like a rendered page (or fail saying why)."""
    png.parent.mkdir(parents=True, exist_ok=True)
    # Each shot reloads the page. Chromium's virtual time runs ahead while the page only waits
    # for Streamlit's websocket, so a shot can still show the loading skeleton: retry on a
    # real-time deadline, like the DOM polls above, rather than a fixed number of attempts.
    problem = "not taken"
    deadline = time.monotonic() + 120
    attempt = 0
    while time.monotonic() < deadline:
        png.unlink(missing_ok=True)
        _chromium(url, f"--virtual-time-budget={20000 + 5000 * min(attempt, 5)}", f"--screenshot={png}")
        problem = _screenshot_problem(png)
        if problem is None:
            break
        attempt += 1
        time.sleep(2)
    assert problem is None, f"{problem} after {attempt} attempts"


def _screenshot_problem(png: Path) -> str | None:
    """Why ``png`` is not a rendered dashboard, or ``None`` when it looks like one."""
    if not png.exists() or png.stat().st_size < 30_000:
        return f"screenshot missing or nearly empty ({png.stat().st_size if png.exists() else 0} bytes)"
    with Image.open(png) as img:
        if img.size != (1400, 2300):
            return f"unexpected size {img.size}"
        colours = img.convert("RGB").getcolors(maxcolors=1_000_000) or []
    # A blank or error page has a handful of colours; text, charts and tables have thousands.
    if len(colours) <= 500:
        return f"only {len(colours)} colours: the page looks empty"
    if max(count for count, _ in colours) >= 0.95 * 1400 * 2300:
        return "the page is almost a single colour"
    return None


def test_screenshot_in_docs_is_small() -> None:
    doc_png = Path(__file__).resolve().parents[2] / "docs" / "img" / "dashboard.png"
    assert doc_png.exists() and 20_000 < doc_png.stat().st_size < 300_000


#: The audience views, by the marker text each renders once its data arrived.
AUDIENCE_VIEWS = {
    "funnel": "Recording viewers",
    "channels": "Where registrants come from",
    "audience": "Cohorts: came back within",
    "engagement": "Engagement score",
}


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: run scripts/ensure_chromium.sh as root")
def test_chromium_renders_each_audience_view_and_saves_a_screenshot(streamlit_server: str) -> None:
    for view, marker in AUDIENCE_VIEWS.items():
        url = streamlit_server.rstrip("/") + f"/?view={view}"
        deadline = time.monotonic() + 60
        dom = ""
        while time.monotonic() < deadline:
            dom = _chromium(url, "--virtual-time-budget=15000", "--dump-dom")
            if marker in dom:
                break
            time.sleep(1)
        assert marker in dom, (view, dom[-3000:])
        assert "Traceback" not in dom and 'data-testid="stException"' not in dom, view
        _screenshot(url, ARTIFACTS / f"dashboard_{view}.png")
