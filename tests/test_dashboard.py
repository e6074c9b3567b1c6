"""The dashboard through Flask's test client: pages, moves, the filter, the form, downloads, JSON, headers.

The results are computed by the real pipeline from the hand-written dumps of support.crafted, whose
expected ranks and moves are worked out by hand in that module's docstring.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from markupsafe import escape

from support import crafted
from support.html_rows import ranking_rows
from support.queues import RecordingQueue
from wikitop import sites
from wikitop.hours import parse_hour
from wikitop.pipeline import Outcome, process_hour
from wikitop.services import Services, build_services
from wikitop.settings import Settings
from wikitop.state import TaskStatus
from wikitop.trends import period_text
from wikitop.web.app import create_app

H = crafted.HOUR


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    crafted.write_dumps(tmp_path / "mirror")
    return Settings(
        data_dir=tmp_path / "data",
        dumps_url=str(tmp_path / "mirror"),
        blacklist_url="",
        top_n=crafted.TOP_N,
        max_range_hours=48,
    )


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = build_services(settings)
    for hour in crafted.DUMPS:
        assert process_hour(parse_hour(hour), built).outcome is Outcome.COMPUTED
    yield built
    built.close()


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def client(settings: Settings, services: Services, queue: RecordingQueue) -> FlaskClient:
    return create_app(settings, services, queue).test_client()


def _page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "text/html; charset=utf-8"
    return response.get_data(as_text=True)


def _moves(html: str) -> list[tuple[str, str, str, str]]:
    return [
        (row["rank"].text, row["title"].text, row["vs-previous"].text, row["vs-day"].text)
        for row in ranking_rows(html)
    ]


def test_period_is_the_hour_before_the_label_in_utc() -> None:
    # The README's Hours section: file pageviews-20200101-150000.gz counts 14:00-15:00 UTC.
    assert period_text(datetime(2020, 1, 1, 15, tzinfo=UTC)) == "14:00-15:00 UTC, 1 Jan 2020"
    assert period_text(datetime(2020, 1, 1, 0, tzinfo=UTC)) == "23:00-24:00 UTC, 31 Dec 2019"


def test_hour_page_shows_articles_with_moves_against_the_hour_and_the_day_before(client: FlaskClient) -> None:
    html = _page(client, f"/hours/{H}")
    assert _moves(html) == [
        ("2", "A", "up 1 place", "down 1 place"),
        ("4", "E", "new", "new"),
        ("5", "B", "down 3 places", "down 3 places"),
    ]
    assert "14:00-15:00 UTC, 1 Jan 2020" in html
    main_page, special = (sites.hidden_reason("en", title) for title in ("Main_Page", "Special:Search"))
    assert main_page and special
    assert "Articles only: 2 rows hidden (" in html
    assert f"1 {escape(main_page)}" in html and f"1 {escape(special)}" in html
    assert "Ranks are those of the stored result" in html
    assert "the previous hour (13:00-14:00 UTC, 1 Jan 2020)" in html
    assert "has no result" not in html


def test_filter_none_shows_every_stored_row_as_in_the_csv(client: FlaskClient, services: Services) -> None:
    html = _page(client, f"/hours/{H}?filter=none")
    stored = list(csv.reader(io.StringIO(services.results.read(parse_hour(H)).decode())))[1:]
    expected = [
        (rank, title.replace("_", " "), f"{int(views):,}")
        for code, rank, title, views in stored
        if code == "en"
    ]
    shown = [(row["rank"].text, row["title"].text, row["views"].text) for row in ranking_rows(html)]
    assert shown == expected
    assert [title for _, title, _ in shown] == ["Main Page", "A", "Special:Search", "E", "B"]
    assert "Every stored row is shown" in html


def test_rising_lists_new_pages_largest_gain_first(client: FlaskClient) -> None:
    # The previous hour's 5th page had 10 views: a page outside its top 5 had at most 10.
    rows = ranking_rows(_page(client, f"/hours/{H}?view=rising&filter=none"))
    assert [(row["title"].text, row["gain"].text) for row in rows] == [
        ("Special:Search", "890"),
        ("E", "690"),
    ]
    rows = ranking_rows(_page(client, f"/hours/{H}?view=rising"))
    assert [row["title"].text for row in rows] == ["E"]


def test_an_earlier_hour_without_result_is_said_and_its_moves_are_unknown(client: FlaskClient) -> None:
    html = _page(client, f"/hours/{crafted.NEXT}")
    assert "The same hour the day before (<code>2019123116</code>) has no result" in html
    assert _moves(html) == [
        ("2", "E", "up 2 places", "no result to compare with"),
        ("3", "A", "down 1 place", "no result to compare with"),
        ("4", "F", "new", "no result to compare with"),
    ]


def test_titles_are_decoded_escaped_and_linked_to_their_wiki(client: FlaskClient) -> None:
    response = client.get(f"/hours/{H}?domain=en.m")
    html = response.get_data(as_text=True)
    rows = ranking_rows(html)
    assert [row["title"].text for row in rows] == ["Café au lait", crafted.ESCAPE_TITLE]
    assert rows[0]["title"].href is not None
    assert urlsplit(rows[0]["title"].href).netloc == "en.m.wikipedia.org"
    assert crafted.ESCAPE_TITLE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_domain_picker_takes_a_wiki_name_and_redirects_to_its_code(client: FlaskClient) -> None:
    response = client.get(f"/hours/{H}?domain=German+Wikibooks&filter=none&view=all")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == f"/hours/{H}"
    assert parse_qs(location.query) == {"domain": ["de.b"], "filter": ["none"], "view": ["all"]}
    rows = ranking_rows(_page(client, f"{location.path}?{location.query}"))
    assert [row["title"].text for row in rows] == ["Kochbuch", "Hauptseite"]
    assert urlsplit(rows[0]["title"].href or "").netloc == "de.wikibooks.org"
    assert "no wiki has" in _page(client, f"/hours/{H}?domain=Nowhere+Wiki", 400)
    for value, code in (("German Wikibooks (de.b)", "de.b"), ("English Wikipedia (mobile)", "en.m")):
        moved = client.get(f"/hours/{H}", query_string={"domain": value})
        assert parse_qs(urlsplit(moved.headers["Location"]).query)["domain"] == [code]


def test_bad_queries_and_missing_hours_are_pages_that_say_why(client: FlaskClient) -> None:
    assert "view" in _page(client, f"/hours/{H}?view=sideways", 400)
    assert "invalid hour" in _page(client, "/hours/2020013199", 400)
    html = _page(client, "/hours/2020010301", 404)
    assert "never asked for" in html
    assert "00:00-01:00 UTC, 3 Jan 2020" in html
    assert client.get("/hours/2020-01-01T15").headers["Location"].startswith(f"/hours/{H}?")


def _json(client: FlaskClient, url: str) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert isinstance(body, dict)
    return body


def test_json_and_csv_downloads_hold_what_the_page_shows(client: FlaskClient) -> None:
    query = "domain=en&filter=articles&view=all"
    page_rows = ranking_rows(_page(client, f"/hours/{H}?{query}"))
    body = _json(client, f"/api/v1/reports/{H}/trends?{query}")
    assert [(row["rank"], row["title"]) for row in body["rows"]] == [
        (int(row["rank"].text), row["title"].text) for row in page_rows
    ]
    assert body["rows"][0]["vs_previous_hour"] == {"kind": "up", "places": 1}
    assert body["period"] == "14:00-15:00 UTC, 1 Jan 2020"
    assert body["hidden_count"] == 2
    assert body["previous_hour"] == {"what": "the previous hour", "hour": crafted.PREVIOUS, "available": True}
    download = client.get(f"/api/v1/reports/{H}/trends.csv?{query}")
    assert download.status_code == 200
    lines = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert lines[0][:4] == ["domain_code", "rank", "page_title", "views"]
    assert download.headers["Content-Disposition"] == f'attachment; filename="top-{H}-en-articles-all.csv"'
    odd = client.get(f"/api/v1/reports/{H}/trends.csv?domain=a%22b%0Ac")
    assert odd.status_code == 200
    assert odd.headers["Content-Disposition"] == f'attachment; filename="top-{H}-a_b_c-articles-all.csv"'
    assert [line[:4] for line in lines[1:]] == [
        ["en", "2", "A", "1000"],
        ["en", "4", "E", "700"],
        ["en", "5", "B", "250"],
    ]


def test_the_json_endpoints_are_in_the_openapi_document(client: FlaskClient) -> None:
    paths = _json(client, "/openapi.json")["paths"]
    trends = paths["/api/v1/reports/{hour}/trends"]["get"]
    assert {parameter["name"] for parameter in trends["parameters"]} >= {"hour", "domain", "filter", "view"}
    assert "text/csv" in paths["/api/v1/reports/{hour}/trends.csv"]["get"]["responses"]["200"]["content"]
    assert not [path for path in paths if path == "/" or path.startswith("/hours")]


def test_overview_shows_freshness_counts_and_newest_hours(client: FlaskClient) -> None:
    html = _page(client, "/")
    assert "Newest computed hour" in html
    assert f'href="/hours/{crafted.NEXT}"' in html
    assert "15:00-16:00 UTC, 1 Jan 2020" in html
    assert "No failed or unavailable hour." in html


def test_the_form_asks_like_the_api_and_redirects(client: FlaskClient, queue: RecordingQueue) -> None:
    response = client.post("/ask", data={"start": "2020020110", "end": "2020020111"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/?asked=2020020110..2020020111#asked"
    assert queue.submitted == [("2020020110", False), ("2020020111", False)]
    html = _page(client, "/?asked=2020020110..2020020111")
    assert 'data-hour="2020020111" data-status="queued"' in html


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("2020013199", "", "start"),
        ("2020010115", "2020010114", "end"),
        ("2020010100", "2020010500", "end"),
        ("", "", "start"),
    ],
)
def test_the_form_refuses_a_range_with_the_apis_message_next_to_the_field(
    client: FlaskClient, queue: RecordingQueue, start: str, end: str, field: str
) -> None:
    api = client.post("/api/v1/reports", json={"start": start, "end": end or None})
    assert api.status_code == 400
    response = client.post("/ask", data={"start": start, "end": end})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    message = api.get_json()["message"]
    assert f'<p class="error" id="{field}-error" role="alert">{message.replace(chr(39), "&#39;")}</p>' in html
    assert queue.submitted == []


def test_the_form_needs_the_token_when_one_is_set(settings: Settings, services: Services) -> None:
    queue = RecordingQueue()
    client = create_app(settings.model_copy(update={"api_token": "s3cret"}), services, queue).test_client()
    assert 'id="token"' in _page(client, "/")
    refused = client.post("/ask", data={"start": "2020020110", "token": "wrong"})
    assert refused.status_code == 401
    assert 'id="token-error"' in refused.get_data(as_text=True)
    assert client.post("/ask", data={"start": "2020020110", "token": "s3cret"}).status_code == 303
    assert queue.submitted == [("2020020110", False)]


def test_the_form_refuses_posts_from_other_sites(client: FlaskClient, queue: RecordingQueue) -> None:
    other = client.post("/ask", data={"start": "2020020110"}, headers={"Origin": "https://evil.example"})
    assert other.status_code == 403
    fetched = client.post("/ask", data={"start": "2020020110"}, headers={"Sec-Fetch-Site": "cross-site"})
    assert fetched.status_code == 403
    assert queue.submitted == []
    same = client.post("/ask", data={"start": "2020020110"}, headers={"Origin": "http://localhost"})
    assert same.status_code == 303


def test_assets_are_served_by_the_app(client: FlaskClient) -> None:
    html = _page(client, "/")
    for asset in ("/static/dashboard/dashboard.css", "/static/dashboard/dashboard.js"):
        assert f'"{asset}"' in html
        assert client.get(asset).status_code == 200
    assert "http://" not in html.split("<main")[0] and "https://" not in html.split("<main")[0]


def test_overview_lists_the_latest_failures_with_their_reasons(
    client: FlaskClient, services: Services
) -> None:
    state = services.state
    state.enqueue(["2020020100"], 1)
    assert state.claim("2020020100", "test-worker", 60.0, 1) is not None
    reason = "HTTP 503 after 5 tries <b>from</b> the mirror"
    assert state.finish_failure("2020020100", "test-worker", TaskStatus.FAILED, reason)
    html = _page(client, "/")
    assert "23:00-24:00 UTC, 31 Jan 2020" in html
    assert str(escape(reason)) in html
    assert "No failed or unavailable hour." not in html


def test_form_asks_count_against_the_rate_limit(settings: Settings, services: Services) -> None:
    queue = RecordingQueue()
    limited = settings.model_copy(update={"rate_limit_writes": "2/minute"})
    client = create_app(limited, services, queue).test_client()
    answers = [
        client.post("/ask", data={"start": hour}).status_code
        for hour in ("2020020110", "2020020111", "2020020112")
    ]
    assert answers == [303, 303, 429]
    assert [hour for hour, _ in queue.submitted] == ["2020020110", "2020020111"]
    refused = client.post("/ask", data={"start": "2020020113"})  # a person's form: a page, not JSON
    assert (refused.status_code, refused.mimetype) == (429, "text/html")
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert "too many asks from this address: at most 2 per 1 minute" in refused.get_data(as_text=True)


def test_an_hour_page_of_the_future_is_a_page_saying_so(client: FlaskClient) -> None:
    future = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y%m%d%H")
    for path in (f"/hours/{future}", f"/hours/{future}/"):  # a trailing slash is the same page
        page = client.get(path, query_string={"domain": "en"})
        assert (page.status_code, page.mimetype) == (400, "text/html")
        assert "is in the future" in page.get_data(as_text=True)


def test_sites_endpoint_feeds_the_picker(client: FlaskClient) -> None:
    items = _json(client, f"/api/v1/reports/{H}/sites")["items"]
    assert [item["code"] for item in items] == ["de.b", "en", "en.m"]
    assert {"code": "de.b", "host": "de.wikibooks.org", "name": "German Wikibooks"} in items
    assert "/api/v1/reports/{hour}/sites" in _json(client, "/openapi.json")["paths"]
    assert f'data-source="/api/v1/reports/{H}/sites"' in _page(client, f"/hours/{H}")
