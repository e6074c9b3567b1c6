"""The HTTP API: prototype endpoints, /api/v1, errors, health, OpenAPI, and a real `wikitop api` process."""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from support.dumpgen import DumpSpec, write_hour
from support.queues import RecordingQueue
from wikitop.hours import current_hour, dump_path, format_hour, parse_hour
from wikitop.pipeline import Outcome, process_hour
from wikitop.services import Services, build_services
from wikitop.settings import Settings
from wikitop.state import TaskStatus
from wikitop.web.app import MAX_BODY_BYTES, create_app
from wikitop.web.inputs import EXTENSION

MAX_RANGE_HOURS = 48
HOUR = "2020010115"
JSON = "application/json"
FUTURE = format_hour(current_hour() + timedelta(hours=2))


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    """A local directory laid out like dumps.wikimedia.org/other/pageviews."""
    path = tmp_path / "mirror"
    path.mkdir()
    return path


@pytest.fixture
def settings(tmp_path: Path, mirror: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", dumps_url=str(mirror), blacklist_url="", max_range_hours=MAX_RANGE_HOURS
    )


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = build_services(settings)
    yield built
    built.close()


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def client(settings: Settings, services: Services, queue: RecordingQueue) -> FlaskClient:
    return create_app(settings, services, queue).test_client()


def _json(response: Any) -> dict[str, Any]:
    assert response.content_type == "application/json", response.get_data(as_text=True)
    body = response.get_json()
    assert isinstance(body, dict)
    return body


# --- the prototype's endpoints -------------------------------------------------------------------


def test_prototype_ask_then_get_with_json_bodies_on_get(client: FlaskClient, queue: RecordingQueue) -> None:
    asked = client.get("/ask_page_views", json={"start_date": "2020010115", "end_date": "2020010119"})
    assert asked.status_code == 202
    tasks = _json(asked)["tasks"]
    assert [task["date"] for task in tasks] == [
        "2020010115",
        "2020010116",
        "2020010117",
        "2020010118",
        "2020010119",
    ]
    assert {task["status"] for task in tasks} == {"queued"}
    assert queue.submitted == [(task["date"], False) for task in tasks]

    state = client.get("/get_task_state", json={"date": "2020010115"})
    assert state.status_code == 200
    body = _json(state)
    assert {"data_path", "date", "max_tries", "status", "try_count"} <= body.keys()
    assert body["date"] == "2020010115"
    assert body["status"] == "queued"
    assert body["try_count"] == 0
    assert body["max_tries"] == 3


def test_prototype_end_date_is_optional(client: FlaskClient, queue: RecordingQueue) -> None:
    asked = client.get("/ask_page_views", json={"start_date": "2020010115"})
    assert asked.status_code == 202
    assert [task["date"] for task in _json(asked)["tasks"]] == ["2020010115"]
    assert queue.submitted == [("2020010115", False)]


def test_prototype_endpoints_accept_post_and_query_parameters(client: FlaskClient) -> None:
    ask = "/ask_page_views?start_date=2020010115&end_date=2020010116"
    assert client.post(ask, content_type=JSON).status_code == 202
    assert client.post("/ask_page_views", json={"start_date": "2020-01-01T17"}).status_code == 202
    for response in (
        client.get("/get_task_state?date=2020010115"),
        client.post("/get_task_state", json={"date": "2020010116"}),
        client.get("/get_task_state?date=2020-01-01T17:00:00Z"),
    ):
        assert response.status_code == 200
        assert _json(response)["status"] == "queued"


def test_hour_never_asked_for_is_the_prototypes_404(client: FlaskClient) -> None:
    for response in (
        client.get("/get_task_state", json={"date": HOUR}),
        client.get(f"/get_task_state?date={HOUR}"),
    ):
        assert response.status_code == 404
        assert _json(response) == {"message": "This task does not exist"}


# --- bad input: 400 with a message, nothing enqueued ---------------------------------------------

BAD_ASKS = [
    pytest.param({"start": "2020-13-01T15"}, "expected YYYYMMDDHH", id="bad-format"),
    pytest.param({"start": "20200101"}, "expected YYYYMMDDHH", id="too-short"),
    pytest.param({"start": "2020023015"}, "day is out of range", id="impossible-date"),
    pytest.param({"start": "2020010124"}, "hour must be in 0..23", id="impossible-hour"),
    pytest.param({"start": "2020010119", "end": "2020010115"}, "is before start hour", id="end-before-start"),
    pytest.param(
        {"start": "2020010100", "end": "2020010300"}, "WIKITOP_MAX_RANGE_HOURS=48", id="range-too-long"
    ),
    pytest.param({"start": "2015050100"}, "before 2015-05-01T01", id="before-first-dump"),
    pytest.param({"start": FUTURE}, "in the future", id="future"),
    pytest.param({"start": "2020010115", "end": FUTURE}, "in the future", id="end-in-future"),
    pytest.param({"start": ""}, "start hour is empty", id="empty-start"),
    pytest.param({"start": 2020010115}, "valid string", id="number-instead-of-string"),
    pytest.param({"start": "2020010115", "end": ["2020010116"]}, "valid string", id="list-instead-of-string"),
    pytest.param({"end": "2020010115"}, "Field required", id="missing-start"),
]
PROTOTYPE_NAMES = {"start": "start_date", "end": "end_date"}


def _assert_nothing_enqueued(services: Services, queue: RecordingQueue) -> None:
    assert services.state.count() == 0
    assert queue.submitted == []


@pytest.mark.parametrize(("payload", "problem"), BAD_ASKS)
def test_bad_ask_is_400_naming_the_problem(
    client: FlaskClient, services: Services, queue: RecordingQueue, payload: dict[str, Any], problem: str
) -> None:
    prototype = {PROTOTYPE_NAMES[key]: value for key, value in payload.items()}
    for response in (
        client.post("/api/v1/reports", json=payload),
        client.get("/ask_page_views", json=prototype),
        client.post("/ask_page_views", json=prototype),
    ):
        assert response.status_code == 400, response.get_data(as_text=True)
        assert problem in _json(response)["message"]
    _assert_nothing_enqueued(services, queue)


@pytest.mark.parametrize(
    ("path", "kwargs", "problem"),
    [
        (
            "/api/v1/reports",
            {"json": {"start": HOUR, "force": "yes"}},
            "'force': Input should be a valid boolean",
        ),
        ("/api/v1/reports", {"json": {"start_date": HOUR}}, "'start_date': Extra inputs are not permitted"),
        ("/api/v1/reports", {"json": [HOUR]}, "valid dictionary"),
        ("/api/v1/reports", {"json": HOUR}, "valid dictionary"),
        # A write must declare its body JSON (see test_guard.py); these test the body itself.
        ("/api/v1/reports", {"data": "start=2020010115", "content_type": JSON}, "not valid JSON"),
        ("/api/v1/reports", {"data": '{"start": "2020010115"', "content_type": JSON}, "not valid JSON"),
        ("/api/v1/reports", {"content_type": JSON}, "expected a JSON object"),
        ("/ask_page_views", {"data": "start_date=2020010115", "content_type": JSON}, "not valid JSON"),
        ("/api/v1/reports", {"data": b"\xff\xfe{", "content_type": "application/json"}, "not valid JSON"),
        ("/api/v1/reports", {"data": "[" * 50_000, "content_type": "application/json"}, "nests too deeply"),
        ("/ask_page_views", {"data": "[" * 50_000, "content_type": "application/json"}, "nests too deeply"),
        ("/ask_page_views", {"json": ["2020010115"]}, "expected an object of start_date, end_date"),
        ("/ask_page_views", {"content_type": JSON}, "'start_date': Field required"),
    ],
)
def test_bad_bodies_are_400_naming_the_problem(
    client: FlaskClient,
    services: Services,
    queue: RecordingQueue,
    path: str,
    kwargs: dict[str, Any],
    problem: str,
) -> None:
    response = client.post(path, **kwargs)
    assert response.status_code == 400
    assert problem in _json(response)["message"]
    _assert_nothing_enqueued(services, queue)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"json": {"date": "2020-01-01 15h"}}, "expected YYYYMMDDHH"),
        ({"json": {"date": "2021022915"}}, "day is out of range"),
        ({"json": {"date": 2020010115}}, "'date': Input should be a valid string"),
        ({"json": {}}, "'date': Field required"),
        ({"data": "date=2020010115"}, "not valid JSON"),
        ({"query_string": {"date": "yesterday"}}, "invalid hour 'yesterday'"),
    ],
)
def test_bad_task_state_queries_are_400(client: FlaskClient, kwargs: dict[str, Any], problem: str) -> None:
    response = client.get("/get_task_state", **kwargs)
    assert response.status_code == 400
    assert problem in _json(response)["message"]


@pytest.mark.parametrize("path", ["/api/v1/reports", "/ask_page_views", "/get_task_state"])
def test_oversized_body_is_413_json(
    client: FlaskClient, services: Services, queue: RecordingQueue, path: str
) -> None:
    body = '{"start": "2020010115", "pad": "' + "x" * MAX_BODY_BYTES + '"}'
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 413
    assert f"at most {MAX_BODY_BYTES} bytes" in _json(response)["message"]
    _assert_nothing_enqueued(services, queue)


def test_unknown_route_and_wrong_method_are_json(client: FlaskClient) -> None:
    missing = client.get("/no/such/thing")
    assert missing.status_code == 404
    assert "no such endpoint: GET /no/such/thing" in _json(missing)["message"]
    wrong = client.delete("/api/v1/reports")
    assert wrong.status_code == 405
    assert "method DELETE is not allowed on /api/v1/reports: use GET" in _json(wrong)["message"]
    assert "POST" in wrong.headers["Allow"]
    assert client.put("/ask_page_views", json={}).status_code == 405


def test_bad_hour_in_path_is_400(client: FlaskClient) -> None:
    for path in ("/api/v1/reports/2020-1-1", "/api/v1/reports/2020013215/top", "/api/v1/reports/x.csv"):
        response = client.get(path)
        assert response.status_code == 400
        assert "expected YYYYMMDDHH" in _json(response)["message"]


def test_unexpected_errors_are_500_json_without_traceback(settings: Settings, services: Services) -> None:
    class BrokenState:
        def get(self, hour: str) -> None:
            raise RuntimeError("disk on fire")

    app = create_app(settings, services, RecordingQueue())
    app.extensions[EXTENSION].state = BrokenState()
    response = app.test_client().get("/get_task_state?date=2020010115")
    assert response.status_code == 500
    assert _json(response) == {"message": "internal error: the server log has the details"}


# --- asking: idempotence, retries, force ---------------------------------------------------------


def test_asking_again_enqueues_and_submits_nothing(client: FlaskClient, queue: RecordingQueue) -> None:
    first = client.post("/api/v1/reports", json={"start": "2020010115", "end": "2020010117"})
    assert first.status_code == 202
    assert _json(first)["submitted"] == ["2020010115", "2020010116", "2020010117"]
    again = client.post("/api/v1/reports", json={"start": "2020010114", "end": "2020010116"})
    assert again.status_code == 202
    assert _json(again)["submitted"] == ["2020010114"]
    prototype = client.get("/ask_page_views", json={"start_date": "2020010115", "end_date": "2020010117"})
    assert prototype.status_code == 202
    assert "0 submitted" in _json(prototype)["message"]
    assert [hour for hour, _ in queue.submitted] == ["2020010115", "2020010116", "2020010117", "2020010114"]


def test_failed_hours_are_retried_and_force_never_resubmits_queued_hours(
    client: FlaskClient, services: Services, queue: RecordingQueue
) -> None:
    client.post("/api/v1/reports", json={"start": "2020010115", "end": "2020010116"})
    services.state.claim("2020010115", "test-worker", 60.0, 3)
    services.state.finish_failure("2020010115", "test-worker", TaskStatus.FAILED, "HTTP 503 after 5 tries")
    queue.submitted.clear()

    retried = client.post("/api/v1/reports", json={"start": "2020010115", "end": "2020010116"})
    assert _json(retried)["submitted"] == ["2020010115"]
    assert _json(client.get("/api/v1/reports/2020010115"))["status"] == "queued"

    # A forced recompute of an hour already queued (or running) is not published again.
    services.state.claim("2020010116", "test-worker", 60.0, 3)
    services.state.finish_failure("2020010116", "test-worker", TaskStatus.FAILED, "HTTP 503 after 5 tries")
    forced = client.post("/api/v1/reports", json={"start": "2020010115", "end": "2020010116", "force": True})
    assert _json(forced)["submitted"] == ["2020010116"]
    assert queue.submitted == [("2020010115", False), ("2020010116", True)]
    again = client.post("/api/v1/reports", json={"start": "2020010115", "end": "2020010116", "force": True})
    assert _json(again)["submitted"] == []
    assert queue.submitted == [("2020010115", False), ("2020010116", True)]


def test_unreachable_broker_still_records_the_hours(settings: Settings, services: Services) -> None:
    down = "Error 111 connecting to redis://:s3cret@broker.internal:6379/0. Connection refused."
    client = create_app(settings, services, RecordingQueue(submit_error=down)).test_client()
    response = client.post("/api/v1/reports", json={"start": HOUR})
    assert response.status_code == 202
    message = _json(response)["message"]
    assert message == (
        "1 hour(s) asked: 1 to compute, recorded as queued; the queue could not be reached (connection "
        "refused): they are sent to it when it is back; 0 already queued, running or done"
    )
    # Why, in words: never the broker's address or credentials.
    assert "s3cret" not in message and "broker.internal" not in message
    assert services.state.get(HOUR) is not None


# --- /api/v1 reads --------------------------------------------------------------------------------


def test_report_state_in_both_hour_forms(client: FlaskClient) -> None:
    client.post("/api/v1/reports", json={"start": "2020-01-01T15:00:00Z"})
    compact = _json(client.get("/api/v1/reports/2020010115"))
    assert compact == _json(client.get("/api/v1/reports/2020-01-01T15"))
    assert compact["hour"] == "2020010115"
    assert compact["provenance"] is None
    assert compact["links"] == {"self": "/api/v1/reports/2020010115"}
    missing = client.get("/api/v1/reports/2020010116")
    assert missing.status_code == 404
    assert "never asked for" in _json(missing)["message"]
    # An hour that has no dump at all could never be asked for: 400, as the ask itself would answer.
    for hour, problem in ((FUTURE, "is in the future"), ("2014010100", "is before 2015-05-01T01")):
        for path in (f"/api/v1/reports/{hour}", f"/api/v1/reports/{hour}/top", f"/api/v1/reports/{hour}.csv"):
            response = client.get(path)
            assert response.status_code == 400, path
            assert problem in _json(response)["message"]


def test_list_filters_and_paginates(client: FlaskClient, services: Services) -> None:
    client.post("/api/v1/reports", json={"start": "2020010100", "end": "2020010109"})
    services.state.claim("2020010103", "test-worker", 60.0, 1)
    services.state.finish_failure("2020010103", "test-worker", TaskStatus.FAILED, "truncated gzip")

    first = _json(client.get("/api/v1/reports?limit=4"))
    assert (first["total"], first["limit"], first["offset"]) == (10, 4, 0)
    assert [item["hour"] for item in first["items"]] == [
        "2020010100",
        "2020010101",
        "2020010102",
        "2020010103",
    ]
    last = _json(client.get("/api/v1/reports?limit=4&offset=8"))
    assert [item["hour"] for item in last["items"]] == ["2020010108", "2020010109"]

    failed = _json(client.get("/api/v1/reports?status=failed"))
    assert failed["total"] == 1
    assert failed["items"][0]["error"] == "truncated gzip"
    window = _json(client.get("/api/v1/reports?start=2020-01-01T02&end=2020010104&status=queued"))
    assert [item["hour"] for item in window["items"]] == ["2020010102", "2020010104"]
    assert window["total"] == 2


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        (
            "status=done",
            "'status': Input should be 'queued', 'running', 'success', 'failed' or 'unavailable'",
        ),
        ("limit=0", "'limit': Input should be greater than or equal to 1"),
        ("limit=1001", "'limit': Input should be less than or equal to 1000"),
        ("limit=ten", "'limit': Input should be a valid integer"),
        ("offset=-1", "'offset': Input should be greater than or equal to 0"),
        ("start=2020-01", "expected YYYYMMDDHH"),
        ("sort=hour", "'sort': Extra inputs are not permitted"),
    ],
)
def test_bad_list_queries_are_400(client: FlaskClient, query: str, problem: str) -> None:
    response = client.get(f"/api/v1/reports?{query}")
    assert response.status_code == 400
    assert problem in _json(response)["message"]


def test_top_and_csv_before_a_result_are_404_with_the_status(client: FlaskClient) -> None:
    client.post("/api/v1/reports", json={"start": HOUR})
    for path in (f"/api/v1/reports/{HOUR}/top", f"/api/v1/reports/{HOUR}.csv"):
        response = client.get(path)
        assert response.status_code == 404
        assert _json(response)["message"] == f"hour {HOUR} has no result: its status is queued"


def _computed(services: Services, mirror: Path, lines: int, domains: int) -> datetime:
    """HOUR's dump in the mirror, computed by the pipeline; return the hour."""
    hour = parse_hour(HOUR)
    write_hour(mirror, hour, DumpSpec(lines=lines, domains=domains, seed=7))
    assert process_hour(hour, services).outcome is Outcome.COMPUTED
    return hour


def test_a_recompute_keeps_serving_the_last_good_result_while_it_runs_and_after_a_failed_try(
    client: FlaskClient, services: Services, mirror: Path
) -> None:
    hour = _computed(services, mirror, lines=2_000, domains=5)
    good = client.get(f"/api/v1/reports/{HOUR}.csv").data
    assert good == services.results.read(hour)
    worker, settings = services.worker_id, services.settings

    # While the recompute runs, and after a try of it fails with tries left, the hour is not
    # `success`, yet its last good result is what readers get.
    claimed = services.state.claim(HOUR, worker, settings.lease_s, settings.max_tries, reclaim_success=True)
    assert claimed is not None and claimed.status is TaskStatus.RUNNING
    assert client.get(f"/api/v1/reports/{HOUR}.csv").data == good
    services.state.finish_failure(HOUR, worker, TaskStatus.QUEUED, "try 1/3: the mirror went away")
    report = _json(client.get(f"/api/v1/reports/{HOUR}"))
    assert (report["status"], report["error"]) == ("queued", "try 1/3: the mirror went away")
    assert set(report["links"]) == {"self", "top", "csv"}
    assert client.get(report["links"]["csv"]).data == good
    top = _json(client.get(f"/api/v1/reports/{HOUR}/top?domain=en&limit=3"))
    assert top["count"] == 3
    assert client.get(f"/hours/{HOUR}?domain=en").status_code == 200


def test_a_damaged_result_file_is_a_404_that_says_so_not_a_crash(
    client: FlaskClient, services: Services, mirror: Path
) -> None:
    hour = _computed(services, mirror, lines=500, domains=3)
    good = services.results.read(hour)
    base = f"/api/v1/reports/{HOUR}"
    parsed = [f"{base}/top", f"{base}/trends", f"{base}/sites"]
    # A wrong header and a file cut short are seen by every reader, the raw CSV's too; a row damaged
    # inside, by those that parse the rows (the CSV download hands the bytes over as stored).
    for damaged, paths in (
        (b'garbage,"\n', [*parsed, f"{base}.csv"]),
        (good[:-3], [*parsed, f"{base}.csv"]),
        (good + b"en,1,Main_Page,many\n", [f"{base}/top", f"{base}/trends"]),
    ):
        services.results.write(hour, damaged)
        for path in paths:
            response = client.get(path, query_string={"domain": "en"})
            assert response.status_code == 404, (path, damaged[-20:])
            message = _json(response)["message"]
            assert message.startswith(f"hour {HOUR} has a recorded result but its file is damaged"), message
            assert message.endswith(": ask again with force")
        assert client.get(f"/hours/{HOUR}?domain=en").status_code == 404


def test_asking_for_a_result_made_with_another_n_computes_it_again(
    client: FlaskClient, services: Services, settings: Settings, mirror: Path, queue: RecordingQueue
) -> None:
    hour = parse_hour(HOUR)
    write_hour(mirror, hour, DumpSpec(lines=2_000, domains=5, seed=7))
    other_n = build_services(settings.model_copy(update={"top_n": 3}))
    try:
        assert process_hour(hour, other_n).outcome is Outcome.COMPUTED
    finally:
        other_n.close()

    asked = _json(client.post("/api/v1/reports", json={"start": HOUR}))
    # Today's N is 25: the result of N = 3 is stale, so asking queues it again (not forced) ...
    assert asked["submitted"] == [HOUR] and queue.submitted == [(HOUR, False)]
    [task] = asked["tasks"]
    assert (task["status"], task["provenance"]["top_n"]) == ("queued", 3)
    assert "csv" in task["links"]  # ... and its last good result stays readable meanwhile
    # Asking again while it waits submits nothing more; the worker's computation makes it fresh.
    assert _json(client.post("/api/v1/reports", json={"start": HOUR}))["submitted"] == []
    assert process_hour(hour, services).outcome is Outcome.COMPUTED
    assert _json(client.get(f"/api/v1/reports/{HOUR}"))["provenance"]["top_n"] == 25
    assert _json(client.post("/api/v1/reports", json={"start": HOUR}))["submitted"] == []


@pytest.mark.parametrize("loss", ["deleted", "cut short"])
def test_asking_for_an_hour_whose_result_file_was_lost_computes_it_again(
    client: FlaskClient, services: Services, mirror: Path, queue: RecordingQueue, loss: str
) -> None:
    hour = parse_hour(HOUR)
    write_hour(mirror, hour, DumpSpec(lines=2_000, domains=5, seed=7))
    assert process_hour(hour, services).outcome is Outcome.COMPUTED
    good = services.results.read(hour)
    path = Path(services.results.location(hour))
    if loss == "deleted":
        path.unlink()
    else:
        path.write_bytes(good[: len(good) // 2])

    asked = _json(client.post("/api/v1/reports", json={"start": HOUR}))
    assert asked["submitted"] == [HOUR] and queue.submitted == [(HOUR, False)]
    assert process_hour(hour, services).outcome is Outcome.COMPUTED  # what the worker does with it
    assert services.results.read(hour) == good
    # Whole again: asking once more submits nothing.
    assert _json(client.post("/api/v1/reports", json={"start": HOUR}))["submitted"] == []

    # In a range, the hours are checked side by side: only the lost one is computed again.
    hours = [hour + timedelta(hours=step) for step in range(1, 4)]
    for later in hours:
        write_hour(mirror, later, DumpSpec(lines=2_000, domains=5, seed=later.hour))
        assert process_hour(later, services).outcome is Outcome.COMPUTED
    Path(services.results.location(hours[1])).unlink()
    keys = [format_hour(later) for later in hours]
    ranged = _json(client.post("/api/v1/reports", json={"start": HOUR, "end": keys[-1]}))
    assert ranged["submitted"] == [keys[1]]


def test_a_failure_shown_by_the_api_names_no_server_path(
    client: FlaskClient, services: Services, mirror: Path, tmp_path: Path
) -> None:
    hour = parse_hour(HOUR)
    dump = write_hour(mirror, hour, DumpSpec(lines=2_000, domains=5, seed=7))
    dump.write_bytes(dump.read_bytes()[:500])  # a damaged copy in the mirror
    client.post("/api/v1/reports", json={"start": HOUR})
    assert process_hour(hour, services).outcome is Outcome.RETRY
    recorded = services.state.get(HOUR)
    assert recorded is not None and str(dump) in (recorded.error or "")  # the CLI's `status` shows it

    shown = [
        _json(client.get(f"/api/v1/reports/{HOUR}"))["error"],
        _json(client.get("/api/v1/reports"))["items"][0]["error"],
        _json(client.get("/get_task_state", query_string={"date": HOUR}))["error"],
        _json(client.post("/api/v1/reports", json={"start": HOUR}))["tasks"][0]["error"],
    ]
    public = f"$WIKITOP_DUMPS_URL/{dump.relative_to(mirror)}"
    for error in shown:
        assert public in error and str(tmp_path) not in error, error
    while process_hour(hour, services).outcome is Outcome.RETRY:
        pass  # until its last try: the dashboard lists the hour among the latest failures
    page = client.get("/").get_data(as_text=True)
    assert public in page and str(tmp_path) not in page


def test_top_and_csv_serve_a_result_computed_by_the_pipeline(
    client: FlaskClient, services: Services, mirror: Path
) -> None:
    hour = parse_hour(HOUR)
    write_hour(mirror, hour, DumpSpec(lines=20_000, domains=30, seed=7))
    assert client.post("/api/v1/reports", json={"start": HOUR}).status_code == 202
    assert process_hour(hour, services).outcome is Outcome.COMPUTED

    report = _json(client.get(f"/api/v1/reports/{HOUR}"))
    assert report["status"] == "success"
    assert report["provenance"]["lines_read"] == 20_000
    assert report["provenance"]["top_n"] == 25
    assert report["links"]["csv"] == f"/api/v1/reports/{HOUR}.csv"

    csv_response = client.get(f"/api/v1/reports/{HOUR}.csv")
    assert csv_response.status_code == 200
    assert csv_response.content_type == "text/csv; charset=utf-8"
    assert csv_response.data == services.results.read(hour)
    stored = list(csv.DictReader(io.StringIO(csv_response.data.decode())))

    top = _json(client.get(f"/api/v1/reports/{HOUR}/top?domain=en.m&limit=10"))
    expected = [row for row in stored if row["domain_code"] == "en.m"][:10]
    assert top["count"] == 10
    assert [(r["rank"], r["page_title"], r["views"]) for r in top["rows"]] == [
        (int(r["rank"]), r["page_title"], int(r["views"])) for r in expected
    ]
    assert [r["views"] for r in top["rows"]] == sorted((r["views"] for r in top["rows"]), reverse=True)

    every = _json(client.get(f"/api/v1/reports/{HOUR}/top?limit=1"))
    assert every["count"] == len({row["domain_code"] for row in stored})
    assert _json(client.get(f"/api/v1/reports/{HOUR}/top?domain=xx.nowhere"))["rows"] == []
    assert client.get("/get_task_state", json={"date": HOUR}).get_json()["data_path"] == report["data_path"]


# --- health and OpenAPI ---------------------------------------------------------------------------


def test_health_and_readiness(client: FlaskClient) -> None:
    assert _json(client.get("/healthz"))["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    checks = _json(ready)["checks"]
    assert checks == {
        "state": "ok",
        "queue": "ok",
        "results": "ok",
        "blacklist": "ok",
        "workers": checks["workers"],
    }
    # `wikitop api` alone: its workers may run elsewhere, so no heartbeat here only makes a note.
    assert checks["workers"].startswith("ok: not checked: no worker shares this data dir")


def test_readiness_names_the_failing_dependency(settings: Settings, services: Services) -> None:
    client = create_app(settings, services, RecordingQueue(ping_error="redis refused")).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = _json(response)
    assert body["status"] == "not ready: queue failed"
    assert body["checks"]["queue"] == "queue broker unavailable: connection refused"
    assert [body["checks"][name] for name in ("state", "results", "blacklist")] == ["ok", "ok", "ok"]


def test_openapi_document_is_valid_and_lists_every_endpoint(client: FlaskClient) -> None:
    spec = _json(client.get("/openapi.json"))
    validate(spec)
    assert spec["openapi"].startswith("3.")
    operations = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert operations == {
        ("/ask_page_views", "get"),
        ("/ask_page_views", "post"),
        ("/get_task_state", "get"),
        ("/get_task_state", "post"),
        ("/api/v1/reports", "get"),
        ("/api/v1/reports", "post"),
        ("/api/v1/reports/{hour}", "get"),
        ("/api/v1/reports/{hour}/top", "get"),
        ("/api/v1/reports/{hour}.csv", "get"),
        ("/api/v1/reports/{hour}/trends", "get"),
        ("/api/v1/reports/{hour}/trends.csv", "get"),
        ("/api/v1/reports/{hour}/sites", "get"),
        ("/api/v1/status", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    }
    # The prototype's GET is documented with its query parameters, its POST with its JSON body.
    prototype_body = spec["paths"]["/get_task_state"]["post"]["requestBody"]["content"]["application/json"]
    assert prototype_body["schema"] == {"$ref": "#/components/schemas/PrototypeTaskQuery"}
    [date] = spec["paths"]["/get_task_state"]["get"]["parameters"]
    assert date["name"] == "date" and date["in"] == "query" and date["required"] is True
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "/openapi.json" in docs.get_data(as_text=True)


# --- a real `wikitop api` process ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def api_server(tmp_path: Path) -> Iterator[str]:
    """Run `wikitop api` on a free loopback port with a fresh data dir; yield its base URL."""
    port = _free_port()
    env = {**os.environ, "WIKITOP_DATA_DIR": str(tmp_path / "data"), "WIKITOP_BLACKLIST_URL": ""}
    command = [sys.executable, "-m", "wikitop", "api", "--port", str(port), "--workers", "1"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"wikitop api exited: {process.communicate()[0]}"
            assert time.monotonic() < deadline, "wikitop api did not answer /healthz within 30 s"
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _prototype_call(base: str, path: str, body: str) -> tuple[int, dict[str, Any]]:
    """Send the README's curl call verbatim (curl when installed, else the same request with httpx)."""
    if shutil.which("curl"):
        command = ["curl", "-sS", "-w", "\n%{http_code}", "-X", "GET", f"{base}{path}"]
        command += [
            "-H",
            "Content-Type: application/json",
            "-H",
            "Postman-Token: 1b049522-62e0-4d57-b7ec-d93d91ed7018",
        ]
        command += ["-H", "cache-control: no-cache", "-d", body]
        output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=30).stdout
        text, _, code = output.rpartition("\n")
        return int(code), httpx.Response(200, content=text).json()
    headers = {"Content-Type": "application/json", "cache-control": "no-cache"}
    response = httpx.request("GET", f"{base}{path}", content=body, headers=headers, timeout=30)
    return response.status_code, response.json()


@pytest.mark.slow
def test_real_server_answers_the_prototypes_curl_calls(api_server: str) -> None:
    assert httpx.get(f"{api_server}/healthz").headers["Server"].startswith("gunicorn")
    code, body = _prototype_call(api_server, "/get_task_state", '{\n\t"date": "2020010115"\n}')
    assert (code, body) == (404, {"message": "This task does not exist"})

    code, body = _prototype_call(
        api_server, "/ask_page_views", '{\n\t"start_date": "2020010115",\n\t"end_date": "2020010119"\n}'
    )
    assert code == 202
    assert [task["date"] for task in body["tasks"]] == [f"20200101{h}" for h in range(15, 20)]
    code, body = _prototype_call(api_server, "/ask_page_views", '{\n\t"start_date": "2020010115"\n}')
    assert code == 202

    code, body = _prototype_call(api_server, "/get_task_state", '{\n\t"date": "2020010115"\n}')
    assert code == 200
    assert {"data_path", "date", "max_tries", "status", "try_count"} <= body.keys()
    assert body["status"] in {status.value for status in TaskStatus}

    assert httpx.get(f"{api_server}/readyz").status_code == 200
    assert httpx.get(f"{api_server}/openapi.json").json()["info"]["title"] == "wikitop"
    bad = httpx.post(f"{api_server}/api/v1/reports", content="not json", headers={"Content-Type": JSON})
    assert bad.status_code == 400
    assert "not valid JSON" in bad.json()["message"]


def test_api_command_refuses_a_taken_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "WIKITOP_DATA_DIR": str(tmp_path / "data"), "WIKITOP_BLACKLIST_URL": ""}
        command = [sys.executable, "-m", "wikitop", "api", "--port", str(port)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"Error: cannot listen on 127.0.0.1:{port}: Address already in use" in done.stderr


def test_metrics_count_requests_tasks_by_state_and_queue_depth(
    settings: Settings, services: Services
) -> None:
    queue = RecordingQueue()
    client = create_app(settings, services, queue).test_client()
    client.post("/api/v1/reports", json={"start": "2020010115", "end": "2020010117"})
    client.get("/get_task_state", json={"date": "2020010115"})
    client.get("/get_task_state", json={"date": "2020010199"})

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    text = response.get_data(as_text=True)
    assert 'wikitop_tasks{status="queued"} 3.0' in text
    assert 'wikitop_tasks{status="success"} 0.0' in text
    assert "wikitop_queue_depth 3.0" in text
    assert 'wikitop_api_requests_total{endpoint="/get_task_state",method="GET",status="200"}' in text
    assert 'wikitop_api_requests_total{endpoint="/get_task_state",method="GET",status="400"}' in text
    assert 'wikitop_api_request_duration_seconds_count{endpoint="/api/v1/reports"}' in text


# --- the docs page works offline, the empty domain code ------------------------------------------

ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def test_docs_page_and_every_asset_it_loads_are_served_by_the_app(client: FlaskClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # Everything the page loads: script and style sources, links, and Swagger UI's spec URL.
    references = re.findall(r'\b(?:src|href)="([^"]*)"', html) + re.findall(r'\burl: "([^"]*)"', html)
    assert len(references) >= 4, html
    for reference in references:
        assert urlsplit(reference).netloc == "", f"/docs loads {reference} from another host"
        assert urlsplit(reference).scheme == "", f"/docs loads {reference} from another host"
    assert "validatorUrl" in html  # Swagger UI's badge would send the spec to validator.swagger.io
    assets = [ref for ref in references if Path(urlsplit(ref).path).suffix in ASSET_TYPES]
    assert {Path(ref).suffix for ref in assets} == set(ASSET_TYPES)
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert response.content_type.split(";")[0] == ASSET_TYPES[Path(asset).suffix], asset
        assert len(response.data) > 0, asset
    assert client.get(next(ref for ref in references if ref.endswith("openapi.json"))).status_code == 200


def test_top_can_ask_for_the_empty_domain_code(client: FlaskClient, services: Services, mirror: Path) -> None:
    hour = parse_hour(HOUR)
    path = mirror / dump_path(hour)
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(b" Main_Page 7 0\n Other 9 0\nen Main_Page 5 0\n"))
    assert client.post("/api/v1/reports", json={"start": HOUR}).status_code == 202
    assert process_hour(hour, services).outcome is Outcome.COMPUTED
    stored = list(csv.DictReader(io.StringIO(services.results.read(hour).decode())))
    assert {row["domain_code"] for row in stored} == {"", "en"}

    response = client.get(f"/api/v1/reports/{HOUR}/top?domain=")

    assert response.status_code == 200, response.get_json()
    top = response.get_json()
    assert top["domain"] == ""
    assert [(row["domain_code"], row["page_title"], row["views"]) for row in top["rows"]] == [
        (row["domain_code"], row["page_title"], int(row["views"]))
        for row in stored
        if row["domain_code"] == ""
    ]
    assert top["count"] == 2
