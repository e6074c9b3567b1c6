"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against a real `wikitop serve`
whose workers compute support.crafted's hand-written dumps from a real HTTP server playing Wikimedia.

One server for the module; each test saves a screenshot of its page under its pytest tmp dir.
The browser is WIKITOP_TEST_CHROMIUM (default /usr/bin/chromium); without it the tests skip, and fail
in CI (WIKITOP_TEST_REQUIRE_BROWSER=1).
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from support import crafted
from support.api_process import ApiProcess, run_wikitop_http
from support.requirements import browser_unavailable
from support.server import FakeWikimedia
from wikitop import sites

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("WIKITOP_TEST_CHROMIUM", "/usr/bin/chromium")
H = crafted.HOUR
# Asked through the form by its test: the same lines as crafted.NEXT, two more hours.
FORM_HOURS = ["2020010117", "2020010118"]
COMPUTE_TIMEOUT_S = 60.0
ENV = {"WIKITOP_TOP_N": str(crafted.TOP_N), "WIKITOP_RETRY_BACKOFF_S": "0.2", "WIKITOP_HTTP_BACKOFF_S": "0.1"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium: the system's, never one downloaded by `playwright install`."""
    if not Path(CHROMIUM).exists():
        browser_unavailable(
            f"{CHROMIUM} does not exist (apt-get install chromium, or set WIKITOP_TEST_CHROMIUM)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        browser_unavailable(f"playwright is not installed ({exc}): pip install -e '.[test]'")
    with sync_playwright() as playwright:
        # --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    """`wikitop serve` with the crafted hours computed (asked through the API) and FORM_HOURS published."""
    root = tmp_path_factory.mktemp("dashboard")
    with FakeWikimedia(root / "mirror") as mirror:
        crafted.write_dumps(mirror.root_dir)
        for hour in FORM_HOURS:
            (mirror.root_dir / _relative_dump(hour)).write_bytes(crafted.dump_bytes(crafted.NEXT))
        with run_wikitop_http(
            root,
            "serve",
            "--workers",
            "1",
            "--api-workers",
            "1",
            mirror_url=mirror.url,
            env=ENV,
            blacklist="",
        ) as running:
            for start, end in ((crafted.DAY_BEFORE, None), (crafted.PREVIOUS, crafted.NEXT)):
                asked = httpx.post(f"{running.base_url}/api/v1/reports", json={"start": start, "end": end})
                assert asked.status_code == 202, asked.text
            _wait_for_success(running, list(crafted.DUMPS))
            yield running


def _relative_dump(hour: str) -> Path:
    from wikitop.hours import dump_path, parse_hour

    return Path(dump_path(parse_hour(hour)))


def _wait_for_success(server: ApiProcess, hours: list[str]) -> None:
    deadline = time.monotonic() + COMPUTE_TIMEOUT_S
    while True:
        statuses = {
            hour: httpx.get(f"{server.base_url}/api/v1/reports/{hour}").json()["status"] for hour in hours
        }
        if set(statuses.values()) == {"success"}:
            return
        assert time.monotonic() < deadline, f"not computed: {statuses}\n{server.logs()[-3000:]}"
        time.sleep(0.3)


@pytest.fixture
def page(browser: Browser, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page; its screenshot is saved as tmp_path/screenshot.png when the test ends, failed or not."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    opened = context.new_page()
    yield opened
    opened.screenshot(path=str(tmp_path / "screenshot.png"), full_page=True)
    context.close()


def _go(page: Page, server: ApiProcess, path: str) -> None:
    response = page.goto(f"{server.base_url}{path}")
    assert response is not None and response.ok, path


def _column(page: Page, css: str) -> list[str]:
    return [" ".join(text.split()) for text in page.locator(f"#ranking tbody {css}").all_inner_texts()]


def test_overview_shows_freshness_status_and_newest_hours(page: Page, server: ApiProcess) -> None:
    _go(page, server, "/")
    assert page.locator("h1").inner_text() == "What is rising on Wikipedia, hour by hour"
    assert "15:00-16:00 UTC, 1 Jan 2020" in page.locator("#newest-result").inner_text()
    counts = dict(
        zip(
            page.locator("#status-counts tbody th").all_inner_texts(),
            page.locator("#status-counts tbody td").all_inner_texts(),
            strict=True,
        )
    )
    assert counts["success"] == str(len(crafted.DUMPS))
    page.locator("#newest-hours a").first.click()
    assert urlsplit(page.url).path == f"/hours/{crafted.NEXT}"


def test_asking_a_range_through_the_form_until_its_hours_succeed(page: Page, server: ApiProcess) -> None:
    _go(page, server, "/")
    page.get_by_label("Start hour").fill(FORM_HOURS[0])
    page.get_by_label("End hour (optional)").fill(FORM_HOURS[-1])
    page.get_by_role("button", name="Ask").click()
    assert parse_qs(urlsplit(page.url).query) == {"asked": [f"{FORM_HOURS[0]}..{FORM_HOURS[-1]}"]}
    rows = page.locator("#asked tbody tr")
    deadline = time.monotonic() + COMPUTE_TIMEOUT_S
    # The page reloads itself while hours are queued or running; the test reloads too, in case.
    while set(rows.evaluate_all("rows => rows.map(row => row.dataset.status)")) != {"success"}:
        assert time.monotonic() < deadline, rows.all_inner_texts()
        page.wait_for_timeout(500)
        page.reload()
    assert [text.split()[-1] for text in page.locator("#asked tbody th").all_inner_texts()] == FORM_HOURS
    page.locator("#asked tbody a").first.click()
    assert _column(page, ".title") == ["E", "A", "F"]


def test_a_bad_range_in_the_form_shows_the_apis_400_message_next_to_the_field(
    page: Page, server: ApiProcess
) -> None:
    api = httpx.post(f"{server.base_url}/api/v1/reports", json={"start": H, "end": crafted.PREVIOUS})
    assert api.status_code == 400
    _go(page, server, "/")
    page.get_by_label("Start hour").fill(H)
    page.get_by_label("End hour (optional)").fill(crafted.PREVIOUS)
    with page.expect_response(lambda response: response.url.endswith("/ask")) as answer:
        page.get_by_role("button", name="Ask").click()
    assert answer.value.status == 400
    assert page.locator("#end-error").inner_text() == api.json()["message"]
    assert page.get_by_label("End hour (optional)").get_attribute("aria-invalid") == "true"


def test_hour_page_table_equals_the_csv(page: Page, server: ApiProcess) -> None:
    _go(page, server, f"/hours/{H}?domain=en&filter=none")
    stored = list(csv.reader(io.StringIO(httpx.get(f"{server.base_url}/api/v1/reports/{H}.csv").text)))[1:]
    expected = [
        [rank, title.replace("_", " "), f"{int(views):,}"]
        for code, rank, title, views in stored
        if code == "en"
    ]
    shown = [
        list(cells)
        for cells in zip(
            _column(page, ".rank"), _column(page, ".title"), _column(page, ".views"), strict=True
        )
    ]
    assert shown == expected
    assert "14:00-15:00 UTC, 1 Jan 2020" in page.locator("#period").inner_text()
    assert "Computed " in page.locator("#period").inner_text()


def test_domain_picker_finds_a_wiki_by_its_name(page: Page, server: ApiProcess) -> None:
    _go(page, server, f"/hours/{H}")
    page.wait_for_selector("#domain-choices[data-filled=true]", state="attached")
    options = page.locator("#domain-choices option").evaluate_all("options => options.map(o => o.value)")
    assert "German Wikibooks (de.b)" in options
    page.get_by_label("Wiki: a domain code or a name").fill("German Wikibooks")
    page.get_by_label("Wiki: a domain code or a name").press("Enter")
    page.wait_for_url("**domain=de.b**")
    assert page.locator("h1").inner_text().startswith("Top pages of German Wikibooks")
    # Whether de.b's "Hauptseite" is its main page is wikitop.sites' call; the filter follows it.
    shown = [title for title in ("Kochbuch", "Hauptseite") if sites.hidden_reason("de.b", title) is None]
    assert _column(page, ".title") == shown


@pytest.mark.parametrize(
    ("domain", "host"),
    [("en", "en.wikipedia.org"), ("en.m", "en.m.wikipedia.org"), ("de.b", "de.wikibooks.org")],
)
def test_article_links_point_to_the_wiki_of_the_domain_code(
    page: Page, server: ApiProcess, domain: str, host: str
) -> None:
    _go(page, server, f"/hours/{H}?domain={domain}&filter=none")
    hrefs = page.locator("#ranking tbody th a").evaluate_all("links => links.map(a => a.href)")
    assert hrefs
    assert {urlsplit(href).netloc for href in hrefs} == {host}


def test_articles_only_switch(page: Page, server: ApiProcess) -> None:
    _go(page, server, f"/hours/{H}")
    assert _column(page, ".title") == ["A", "E", "B"]
    assert "2 rows hidden" in page.locator("#filter-note").inner_text()
    page.get_by_role("link", name="Off: every row").click()
    assert parse_qs(urlsplit(page.url).query)["filter"] == ["none"]
    assert _column(page, ".title") == ["Main Page", "A", "Special:Search", "E", "B"]
    page.get_by_role("navigation", name="Filter").get_by_role("link", name="On").click()
    assert _column(page, ".title") == ["A", "E", "B"]


def test_rising_arrows_against_the_previous_hour_and_the_day_before(page: Page, server: ApiProcess) -> None:
    _go(page, server, f"/hours/{H}")
    previous = page.locator("#ranking tbody .vs-previous .move")
    assert previous.evaluate_all("moves => moves.map(m => m.className)") == [
        "move move-up",
        "move move-new",
        "move move-down",
    ]
    assert [text.split("\n")[0] for text in previous.all_inner_texts()] == ["▲ 1", "new", "▼ 3"]
    day = page.locator("#ranking tbody .vs-day .move").evaluate_all("moves => moves.map(m => m.title)")
    assert day[0] == "down 1 place since the same hour the day before"
    page.locator("#rising-link").click()
    assert _column(page, ".title") == ["E"]
    assert "Gain" in page.locator("#rising-note").inner_text()
    _go(page, server, f"/hours/{crafted.NEXT}")
    assert "(2019123116) has no result" in page.locator("#compare-note").inner_text()


def test_keyboard_and_phone_width(browser: Browser, server: ApiProcess, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    phone = context.new_page()
    try:
        phone.goto(f"{server.base_url}/hours/{H}")
        phone.keyboard.press("Tab")
        assert phone.evaluate("document.activeElement.textContent") == "Skip to the content"
        phone.keyboard.press("Enter")
        assert phone.evaluate("document.activeElement.id") == "main"
        # Nothing wider than the screen: no sideways scrolling of the page.
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360
        assert phone.locator("#ranking").is_visible()
        # Every control has a label; every column and row header says what it heads.
        unlabelled = phone.evaluate(
            "[...document.querySelectorAll('input:not([type=hidden]), button, select')]"
            ".filter(c => !(c.labels && c.labels.length) && !c.textContent.trim()).map(c => c.outerHTML)"
        )
        assert unlabelled == []
        assert phone.locator("#ranking th:not([scope])").count() == 0
    finally:
        phone.screenshot(path=str(tmp_path / "screenshot.png"), full_page=True)
        context.close()


def test_pages_work_without_javascript(browser: Browser, server: ApiProcess, tmp_path: Path) -> None:
    context = browser.new_context(java_script_enabled=False)
    plain = context.new_page()
    try:
        plain.goto(f"{server.base_url}/hours/{H}")
        assert plain.locator("#domain-choices option").count() == 0  # no suggestions without JavaScript
        plain.get_by_label("Wiki: a domain code or a name").fill("English Wikipedia (mobile)")
        plain.get_by_role("button", name="Show").click()
        assert parse_qs(urlsplit(plain.url).query)["domain"] == ["en.m"]
        assert _column(plain, ".title") == ["Café au lait", crafted.ESCAPE_TITLE]
        plain.get_by_role("link", name="← Previous hour").click()
        assert urlsplit(plain.url).path == f"/hours/{crafted.PREVIOUS}"
        assert parse_qs(urlsplit(plain.url).query)["domain"] == ["en.m"]
    finally:
        plain.screenshot(path=str(tmp_path / "screenshot.png"), full_page=True)
        context.close()
