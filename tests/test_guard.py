"""The API's guard: bearer tokens, rate limits on asks, refusal of cross-site asks, and their OpenAPI document."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from support.queues import RecordingQueue
from support.requirements import server_unavailable
from wikitop.services import Services, build_services
from wikitop.settings import Settings
from wikitop.state import TaskStatus
from wikitop.web.app import create_app
from wikitop.web.guard import limiter_storage_uri

TOKEN = "s3cret-token-for-asks"
READ_TOKEN = "another-secret-for-reads"
REDIS_URL = os.environ.get("WIKITOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
ASK_V1 = {"start": "2020010115", "end": "2020010116"}
ASK_PROTOTYPE = {"start_date": "2020010115", "end_date": "2020010116"}


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "dumps_url": str(tmp_path),
        "blacklist_url": "",
        "rate_limit_writes": "",
    }
    return Settings(**(values | overrides))


@pytest.fixture
def make_client(tmp_path: Path, clean_environment: None) -> Iterator[Any]:
    """Build a test client of a real app with the given settings; its services are closed at the end."""
    built: list[Services] = []

    def make(**overrides: Any) -> tuple[FlaskClient, RecordingQueue]:
        settings = _settings(tmp_path, **overrides)
        services = build_services(settings)
        built.append(services)
        queue = RecordingQueue()
        return create_app(settings, services, queue).test_client(), queue

    yield make
    for services in built:
        services.close()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- the token -------------------------------------------------------------------------------------


def test_without_a_token_setting_asks_stay_open(make_client: Any) -> None:
    client, queue = make_client()
    assert client.post("/api/v1/reports", json=ASK_V1).status_code == 202
    assert client.get("/ask_page_views", query_string=ASK_PROTOTYPE).status_code == 202
    assert [hour for hour, _ in queue.submitted] == ["2020010115", "2020010116"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        _bearer("wrong"),
        _bearer(TOKEN[:-1]),
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
    ],
)
def test_with_a_token_every_ask_needs_it(make_client: Any, headers: dict[str, str]) -> None:
    client, queue = make_client(api_token=TOKEN)
    for response in (
        client.post("/api/v1/reports", json=ASK_V1, headers=headers),
        client.post("/ask_page_views", json=ASK_PROTOTYPE, headers=headers),
        client.get("/ask_page_views", json=ASK_PROTOTYPE, headers=headers),
        client.get("/ask_page_views", query_string=ASK_PROTOTYPE, headers=headers),
    ):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Authorization: Bearer <token>" in response.get_json()["message"]
    assert queue.submitted == []
    assert client.get("/api/v1/reports/2020010115").status_code == 404  # nothing was recorded


def test_with_a_token_asks_carrying_it_work_and_reads_stay_open(make_client: Any) -> None:
    client, queue = make_client(api_token=TOKEN)
    assert client.post("/api/v1/reports", json=ASK_V1, headers=_bearer(TOKEN)).status_code == 202
    # The prototype's curl example, with the header added (README): a GET with a JSON body.
    assert (
        client.get("/ask_page_views", json={"start_date": "2020010117"}, headers=_bearer(TOKEN)).status_code
        == 202
    )
    assert [hour for hour, _ in queue.submitted] == ["2020010115", "2020010116", "2020010117"]
    assert client.get("/api/v1/reports/2020010115").status_code == 200
    assert client.get("/get_task_state", json={"date": "2020010115"}).status_code == 200
    assert client.get("/api/v1/reports").status_code == 200


def test_a_read_token_guards_reads_but_not_the_probes(make_client: Any) -> None:
    client, _ = make_client(api_token=TOKEN, api_read_token=READ_TOKEN)
    client.post("/api/v1/reports", json=ASK_V1, headers=_bearer(TOKEN))
    for path in (
        "/api/v1/reports/2020010115",
        "/api/v1/reports",
        "/get_task_state?date=2020010115",
        "/metrics",
    ):
        refused = client.get(path)
        assert refused.status_code == 401, path
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert client.get(path, headers=_bearer("wrong")).status_code == 401
        assert client.get(path, headers=_bearer(READ_TOKEN)).status_code == 200, path
        assert client.get(path, headers=_bearer(TOKEN)).status_code == 200, path
    for path in ("/healthz", "/readyz", "/openapi.json", "/docs", "/docs/assets/swagger-ui.css"):
        assert client.get(path).status_code == 200, path
    # The read token does not let anyone ask.
    assert client.post("/api/v1/reports", json=ASK_V1, headers=_bearer(READ_TOKEN)).status_code == 401


def test_the_token_is_a_masked_secret() -> None:
    view = Settings(api_token=TOKEN, api_read_token=READ_TOKEN).public_view()
    assert view["WIKITOP_API_TOKEN"] == "***"
    assert view["WIKITOP_API_READ_TOKEN"] == "***"
    assert Settings().public_view()["WIKITOP_API_TOKEN"] == ""


# --- cross-site asks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": '{"start": "2020010115"}', "content_type": "text/plain"},
        {"data": {"start": "2020010115"}},  # a form: application/x-www-form-urlencoded
        {"data": "start=2020010115", "content_type": "multipart/form-data; boundary=x"},
        {"query_string": {"start": "2020010115"}},  # no body, no content type: fetch(url, {method: "POST"})
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/reports", "/ask_page_views"])
def test_asks_a_browser_could_send_cross_site_are_415(
    make_client: Any, path: str, kwargs: dict[str, Any]
) -> None:
    client, queue = make_client()
    if path == "/ask_page_views":
        kwargs = {key: _prototype_fields(value) for key, value in kwargs.items()}
    response = client.post(path, **kwargs)
    assert response.status_code == 415
    assert "Content-Type: application/json" in response.get_json()["message"]
    assert queue.submitted == []


def _prototype_fields(value: Any) -> Any:
    if isinstance(value, dict):
        return {"start_date" if key == "start" else key: item for key, item in value.items()}
    return (
        value.replace('"start"', '"start_date"').replace("start=", "start_date=")
        if isinstance(value, str)
        else value
    )


def test_the_prototypes_get_is_the_one_exception_and_only_without_a_token(make_client: Any) -> None:
    open_client, queue = make_client()
    assert open_client.get("/ask_page_views?start_date=2020010115").status_code == 202
    assert queue.submitted == [("2020010115", False)]
    guarded, guarded_queue = make_client(api_token=TOKEN)
    assert guarded.get("/ask_page_views?start_date=2020010115").status_code == 401
    assert guarded_queue.submitted == []


# --- rate limits -----------------------------------------------------------------------------------


def test_malformed_asks_cost_nothing_of_the_allowance(make_client: Any) -> None:
    client, queue = make_client(rate_limit_writes="2/minute")
    typos = [client.post("/api/v1/reports", json={"start": "2020013215"}).status_code for _ in range(5)]
    assert typos == [400] * 5
    answers = [
        client.post("/api/v1/reports", json={"start": f"20200101{h:02d}"}).status_code for h in range(3)
    ]
    assert answers == [202, 202, 429]
    assert len(queue.submitted) == 2


def test_asks_beyond_the_rate_limit_get_429_with_retry_after(make_client: Any) -> None:
    client, queue = make_client(rate_limit_writes="3/minute")
    answers = [
        client.post("/api/v1/reports", json={"start": f"20200101{h:02d}"}).status_code for h in range(3)
    ]
    assert answers == [202, 202, 202]
    # Both ask endpoints share the client's limit.
    refused = client.post("/ask_page_views", json={"start_date": "2020010110"})
    assert refused.status_code == 429
    assert refused.content_type == "application/json"
    assert "3 per 1 minute" in refused.get_json()["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert len(queue.submitted) == 3
    # Reads are not limited, and another client address has its own allowance.
    assert all(client.get("/api/v1/reports").status_code == 200 for _ in range(5))
    other = client.post(
        "/api/v1/reports", json={"start": "2020010111"}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert other.status_code == 202


def test_an_empty_rate_limit_setting_turns_limits_off(make_client: Any) -> None:
    client, _ = make_client(rate_limit_writes="")
    assert all(client.post("/api/v1/reports", json=ASK_V1).status_code == 202 for _ in range(30))


def test_a_bad_rate_limit_setting_is_refused_naming_the_form() -> None:
    with pytest.raises(ValueError, match="10/minute"):
        Settings(rate_limit_writes="ten a minute")


@pytest.mark.redis
def test_with_a_redis_broker_every_process_shares_the_limit(make_client: Any) -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).flushdb()
    except redis.RedisError as exc:
        server_unavailable("Redis", REDIS_URL, str(exc))
    assert limiter_storage_uri(Settings(broker_url=REDIS_URL)) == REDIS_URL
    assert limiter_storage_uri(Settings()) == "memory://"
    # Two apps stand for two API processes: the second sees the asks the first counted.
    first, _ = make_client(broker_url=REDIS_URL, rate_limit_writes="2/minute")
    second, _ = make_client(broker_url=REDIS_URL, rate_limit_writes="2/minute")
    assert first.post("/api/v1/reports", json=ASK_V1).status_code == 202
    assert second.post("/api/v1/reports", json=ASK_V1).status_code == 202
    assert first.post("/api/v1/reports", json=ASK_V1).status_code == 429
    assert second.post("/api/v1/reports", json=ASK_V1).status_code == 429


# --- the OpenAPI document --------------------------------------------------------------------------


def test_openapi_documents_the_bearer_scheme_and_the_guards_answers(make_client: Any) -> None:
    client, _ = make_client(api_token=TOKEN, rate_limit_writes="10/minute")
    spec = client.get("/openapi.json").get_json()
    validate(spec)
    assert spec["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    ask = spec["paths"]["/api/v1/reports"]["post"]
    assert ask["security"] == [{"BearerToken": []}]
    assert {"401", "415", "429"} <= set(ask["responses"])
    assert spec["paths"]["/ask_page_views"]["get"]["security"] == [{"BearerToken": []}]
    # Reads stay open without a read token.
    assert "security" not in spec["paths"]["/api/v1/reports"]["get"]
    assert "security" not in spec["paths"]["/healthz"]["get"]


# --- asking again ----------------------------------------------------------------------------------


def test_asking_again_for_an_unpublished_hour_waits_for_its_next_check(
    make_client: Any, tmp_path: Path
) -> None:
    client, queue = make_client(unavailable_recheck_s=300)
    assert client.post("/api/v1/reports", json={"start": "2020010115"}).status_code == 202
    hour_requests = client.application.extensions["wikitop"]
    hour_requests.state.claim("2020010115", "test-worker", 60.0, 3)
    hour_requests.state.finish_failure("2020010115", "test-worker", TaskStatus.UNAVAILABLE, "HTTP 404")
    queue.submitted.clear()
    for _ in range(3):
        again = client.post("/api/v1/reports", json={"start": "2020010115"})
        assert again.get_json()["submitted"] == []
        assert again.get_json()["tasks"][0]["status"] == "unavailable"
    assert queue.submitted == []
