"""Browser suite: Selenium driving Debian's chromium + chromium-driver (headless) against
pytest-django's live server, with the production Content-Security-Policy switched on.

Select with ``-m browser``, leave out with ``-m "not browser"``. Without the browser the tests
skip with the reason (``make test`` installs it with apt when run as root). A failing test
leaves a screenshot and the page's HTML under var/browser/. Page timings are printed at the end.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.test.utils import override_settings

from sheshi.security.csp import POLICY

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "browser"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--window-size=1400,1000", "--lang=en-GB"]


@dataclass
class PageTimes:
    rows: list[tuple[str, float, float, float]] = field(default_factory=list)  # label, wall, server, load (ms)


TIMES = PageTimes()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def pytest_terminal_summary(terminalreporter):
    if not TIMES.rows:
        return
    tr = terminalreporter
    tr.section("browser walk: page response times (not asserted)")
    tr.write_line(f"{'page':<52} {'wall ms':>8} {'server ms':>10} {'load ms':>8}")
    for label, wall, server, load in TIMES.rows:
        tr.write_line(f"{label:<52} {wall:>8.0f} {server:>10.0f} {load:>8.0f}")
    tr.write_line(f"{'total wall':<52} {sum(r[1] for r in TIMES.rows):>8.0f}")


@pytest.fixture(scope="session")
def csp_live_server(request):
    """pytest-django's live server with the production policy (settings/prod.py) on, so the grid's
    script must work with no inline script allowed. The middleware list is read once, when the
    server thread starts: it is changed only for that moment, and the other tests' clients never
    see it. The policy itself is read per request, so it stays set (inert without the middleware)."""
    from django.conf import settings

    middleware = [*settings.MIDDLEWARE[:1], "sheshi.security.csp.SheshiCSPMiddleware", *settings.MIDDLEWARE[1:]]
    with override_settings(CONTENT_SECURITY_POLICY=POLICY):
        with override_settings(MIDDLEWARE=middleware):
            server = request.getfixturevalue("live_server")
        yield server


@pytest.fixture
def site(csp_live_server, transactional_db):
    return csp_live_server.url


@pytest.fixture
def driver(request):
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip("needs Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver "
                    "(make test does it when run as root)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in requirements-dev.txt")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)
    browser.implicitly_wait(0)
    yield browser
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        stem = ARTIFACTS / f"{request.node.name}-{time.strftime('%Y%m%dT%H%M%S')}"
        browser.save_screenshot(str(stem.with_suffix(".png")))
        stem.with_suffix(".html").write_text(browser.page_source)
        print(f"browser: screenshot and page kept at {stem}.png / .html")
    browser.quit()
