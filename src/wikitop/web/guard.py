"""The API's guard: bearer tokens, per-client rate limits on asks, and no cross-site state change.

A view that enqueues work is marked with `@writes`; every request then goes through `register_guard`'s
checks in this order: the token (401), the content type of a write (415), the rate limit (429).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from apiflask import APIFlask
from flask import Response, current_app, jsonify, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from wikitop.settings import Settings

View = TypeVar("View", bound=Callable[..., Any])
SECURITY_SCHEME = "BearerToken"
_WRITE_MARK = "_wikitop_writes"
_FORM_WRITE_MARK = "_wikitop_form_writes"
_GUARD = "wikitop.guard"
_LIMITER = "wikitop.limiter"
# Liveness and readiness probes (kubelet, load balancers) carry no token; docs and the OpenAPI
# document describe the API, they hold no data.
_OPEN_ENDPOINTS = {
    "health.healthz",
    "health.readyz",
    "openapi.spec",
    "openapi.docs",
    "docs_assets.static",
    "static",
}
# The prototype's state-changing GET: kept for its curl examples, so allowed without a token only.
_PROTOTYPE_GET_ASK = ("GET", "prototype.ask_page_views")


def writes(view: View) -> View:
    """Mark a view as one that enqueues work: it needs the API token and counts against the rate limit."""
    setattr(view, _WRITE_MARK, True)
    return view


def form_writes(view: View) -> View:
    """Mark a view as an HTML form that enqueues work: same-origin posts only, counted by the rate limit.

    A browser cannot send the bearer header from a form: the view checks the token field itself.
    """
    setattr(view, _FORM_WRITE_MARK, True)
    return view


def token_matches(given: str, token: str) -> bool:
    """Tell whether a token given in a form field is `token`, compared in constant time."""
    return hmac.compare_digest(given.strip().encode(), token.encode())


def register_guard(app: APIFlask, settings: Settings) -> None:
    """Check tokens and content types before every request, and rate-limit the asks of each client.

    Called once the app's blueprints and spec processor are registered.
    """
    app.extensions[_GUARD] = settings
    app.before_request(_check_request)
    if settings.api_token or settings.api_read_token:
        scheme = {"type": "http", "scheme": "bearer", "description": _scheme_text(settings)}
        app.security_schemes = {SECURITY_SCHEME: scheme}
    # APIFlask keeps one spec processor: chain ours after the one registered before (the prototype's).
    previous = app.spec_callback

    def document(spec: dict[Any, Any] | str) -> dict[Any, Any] | str:
        return _document_guard(previous(spec) if previous else spec)

    app.spec_processor(document)
    if not settings.rate_limit_writes:
        return
    limiter = Limiter(
        get_remote_address,
        app=app,
        application_limits=[settings.rate_limit_writes],
        application_limits_exempt_when=lambda: not (_is_write() or _is_form_write()),
        # An ask refused as malformed (a typo'd hour) enqueues nothing: it costs no ask of the allowance.
        application_limits_deduct_when=lambda response: response.status_code != 400,
        storage_uri=limiter_storage_uri(settings),
        # A limiter store that is down must not take asks down with it: they pass unlimited.
        swallow_errors=True,
        # Off: flask-limiter would then set Retry-After on every answer of a limited route, a 503's
        # own included; the 429 handler sets it.
        headers_enabled=False,
        strategy="moving-window",
        key_prefix="wikitop",
    )
    app.extensions[_LIMITER] = limiter
    app.register_error_handler(RateLimitExceeded, _too_many)


def limiter_storage_uri(settings: Settings) -> str:
    """Where the limiter counts: the broker's Redis when there is one, else this process's memory."""
    # Every process of a deployment on Redis then shares the counts; with the embedded queue
    # (`serve`) each API process counts on its own (see the README's Security section).
    broker = settings.broker_url
    return broker if broker.startswith(("redis://", "rediss://", "unix://")) else "memory://"


def _check_request() -> Response | None:
    """Answer 401 to a missing or wrong token, and 415 to a write whose body is not declared JSON."""
    settings: Settings = current_app.extensions[_GUARD]
    if request.endpoint in _OPEN_ENDPOINTS or request.endpoint is None or request.method == "OPTIONS":
        return None
    if _is_form_write() and not _same_origin():
        return _json_error(403, "this form only takes posts from this site's own pages (Origin mismatch)")
    if _is_write():
        if settings.api_token and not _bearer_matches(settings.api_token):
            return _unauthorized("asking for hours needs the API token")
        if (request.method, request.endpoint) != _PROTOTYPE_GET_ASK and not _declares_json():
            return _json_error(
                415,
                f"{request.method} {request.path} needs Content-Type: application/json (a form or text "
                "body is refused, so that no other web site can make a browser ask for hours)",
            )
        return None
    tokens = [token for token in (settings.api_read_token, settings.api_token) if token]
    if settings.api_read_token and not any(_bearer_matches(token) for token in tokens):
        return _unauthorized("reading needs the API read token")
    return None


def _is_write() -> bool:
    """Tell whether the request's view enqueues work (marked with @writes)."""
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, _WRITE_MARK, False))


def _is_form_write() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, _FORM_WRITE_MARK, False))


def _same_origin() -> bool:
    """Tell whether a post comes from this site's pages: its Origin (sent by browsers) names this host.

    Without an Origin header (an old browser, curl), Sec-Fetch-Site must not say another site.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")
    return urlsplit(origin).netloc == request.host


def _bearer_matches(token: str) -> bool:
    """Tell whether the request carries `Authorization: Bearer <token>`, compared in constant time."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def _declares_json() -> bool:
    """Tell whether the body is declared JSON: browsers send a cross-site form or text/plain without asking."""
    mimetype = request.mimetype
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def _unauthorized(what: str) -> Response:
    response = _json_error(
        401, f"{what}: send the header 'Authorization: Bearer <token>' (a missing or wrong token is refused)"
    )
    response.headers["WWW-Authenticate"] = 'Bearer realm="wikitop"'
    return response


def _too_many(error: RateLimitExceeded) -> Response:
    """Answer 429 as JSON, with Retry-After: the seconds until the breached limit lets an ask in."""
    response = _json_error(429, too_many_message(error))
    response.headers["Retry-After"] = str(retry_after_s())
    return response


def too_many_message(error: RateLimitExceeded) -> str:
    """What a client over the rate limit is told (the API's JSON, the dashboard's page)."""
    return (
        f"too many asks from this address: at most {error.description}; retry after the Retry-After seconds"
    )


def retry_after_s() -> int:
    """Seconds until the rate limit this request breached lets an ask in again."""
    breached = current_app.extensions[_LIMITER].current_limit
    reset_at = breached.reset_at if breached is not None else time.time() + 60
    return max(1, int(reset_at - time.time()))


def _json_error(status: int, message: str) -> Response:
    response = jsonify(message=message)
    response.status_code = status
    return response


def _scheme_text(settings: Settings) -> str:
    reads = "reads too (WIKITOP_API_READ_TOKEN)" if settings.api_read_token else "reads are open"
    return f"`Authorization: Bearer <token>`: asks need WIKITOP_API_TOKEN; {reads}; /healthz and /readyz are open"


def _document_guard(spec: dict[Any, Any] | str) -> dict[Any, Any] | str:
    """Add the guard's answers to the OpenAPI document: the bearer scheme, 401, 415 and 429."""
    assert isinstance(spec, dict), "SPEC_FORMAT is json"
    settings: Settings = current_app.extensions[_GUARD]
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            endpoint = _endpoint_of(path, method)
            if endpoint is None or endpoint in _OPEN_ENDPOINTS:
                continue
            write = bool(getattr(current_app.view_functions.get(endpoint), _WRITE_MARK, False))
            responses = operation.setdefault("responses", {})
            if write and method != "get":
                responses["415"] = _error("The body is not declared JSON (Content-Type: application/json)")
            if write and settings.rate_limit_writes:
                responses["429"] = _error(
                    f"Too many asks from this address (limits: {settings.rate_limit_writes})"
                )
            if (write and settings.api_token) or (not write and settings.api_read_token):
                operation["security"] = [{SECURITY_SCHEME: []}]
                responses["401"] = _error("Missing or wrong bearer token")
    return spec


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPError"}}},
    }


def _endpoint_of(path: str, method: str) -> str | None:
    """The endpoint name of an OpenAPI path and method."""
    flask_path = path.replace("{", "<").replace("}", ">")
    for rule in current_app.url_map.iter_rules():
        if rule.rule == flask_path and method.upper() in (rule.methods or set()):
            return str(rule.endpoint)
    return None
