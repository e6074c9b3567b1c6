"""Every error as JSON `{"message": ...}`: bad input, unknown routes, wrong methods, big bodies, crashes."""

from __future__ import annotations

import logging
from typing import Any

from apiflask import APIFlask, HTTPError
from apiflask.types import ResponseHeaderType
from flask import Request, request
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError
from werkzeug.wsgi import LimitedStream

from wikitop.errors import StateUnavailableError, UsageError
from wikitop.state.outage import STATE_OUTAGES, describe_outage
from wikitop.top_pages import ResultNotReadyError
from wikitop.web.hour_requests import TaskNotFoundError

ErrorResponse = tuple[dict[str, Any], int, ResponseHeaderType]
# The OpenAPI schema of every error body.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "message": {"type": "string", "description": "what went wrong and the expected form"},
        "detail": {"type": "object", "description": "per-field problems of a validation error"},
    },
    "required": ["message"],
}
# What the HTTP server itself refuses, on any operation, before the app sees the request.
SERVER_ERRORS = {
    "400": "Malformed request: bad request line, header or chunked encoding",
    "414": "Request line (method and URL) too long",
    "431": "Request headers too large",
}
# Operations that never read the task-state database (the others answer 503 while it is down).
STATELESS_PATHS = frozenset({"/healthz", "/metrics"})
_LOCATIONS = {"json": "JSON body", "query": "query parameter", "body": "field"}
# What a client waits before asking again while the task-state database is down: a restart's length.
STATE_RETRY_AFTER_S = 10
log = logging.getLogger(__name__)


class JsonRequest(Request):
    """A request whose undecodable JSON body is a 400 that says what was expected, and a too long one a 413."""

    def get_data(  # type: ignore[override]
        self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False
    ) -> bytes | str:
        """Read the body; a chunked body longer than MAX_CONTENT_LENGTH is a 413, not a cut body.

        Without Content-Length, werkzeug reads up to the limit and stops there silently; reading
        one byte more makes its stream raise RequestEntityTooLarge (a body of exactly the limit
        is refused too: the stream cannot tell it from a longer one).
        """
        data: bytes | str = super().get_data(cache, as_text, parse_form_data)  # type: ignore[call-overload]
        stream = self.stream
        if self.content_length is None and isinstance(stream, LimitedStream) and stream.is_exhausted:
            stream.read(1)
        return data

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """Parse the body as JSON; a body nested too deeply for the parser is a 400 too."""
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            raise BadRequest(
                "cannot read the request body: it nests too deeply; expected a JSON object"
            ) from None

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        """Raise a 400 naming the decoding problem and the expected form."""
        reason = f"it is not valid JSON ({e})" if e is not None else "its content type is not JSON"
        raise BadRequest(f"cannot read the request body: {reason}; expected a JSON object (see /docs)")


def describe_invalid(detail: dict[str, Any]) -> str:
    """Turn APIFlask's {location: {field: [messages]}} into one readable sentence."""
    problems = []
    for location, fields in detail.items():
        where = _LOCATIONS.get(location, location)
        for field, messages in fields.items():
            subject = where if field == "_schema" else f"{where} {field!r}"
            problems.append(f"{subject}: {'; '.join(messages)}")
    return "invalid request: " + "; ".join(problems) + " (see /docs for the expected form)"


def http_error_response(error: HTTPError) -> ErrorResponse:
    """APIFlask's error processor: validation errors and abort() become `{"message", "detail"?}`."""
    is_validation = bool(error.detail) and all(isinstance(v, dict) for v in error.detail.values())
    message = describe_invalid(error.detail) if is_validation else str(error.message)
    body: dict[str, Any] = {"message": message}
    if error.detail:
        body["detail"] = error.detail
    return body, error.status_code, error.headers


def werkzeug_error_response(error: HTTPException) -> ErrorResponse:
    """Routing, method, size and decoding errors, and crashes, with a message for people."""
    code = error.code or 500
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return {"message": _werkzeug_message(error, code)}, code, headers


def _werkzeug_message(error: HTTPException, code: int) -> str:
    if code == 404:
        return f"no such endpoint: {request.method} {request.path} (the endpoints are listed at /docs)"
    if code == 405:
        allowed = ", ".join(sorted(getattr(error, "valid_methods", None) or []))
        return f"method {request.method} is not allowed on {request.path}: use {allowed}"
    if code == 413:
        limit = request.max_content_length
        return f"the request body is too large: at most {limit} bytes are accepted"
    if isinstance(error, InternalServerError):
        # Flask has logged the traceback already; the client only learns that there is one.
        return "internal error: the server log has the details"
    return error.description or error.name


def state_unavailable_response(error: Exception) -> ErrorResponse:
    """A state-store outage: 503 with Retry-After, naming the dependency, never its address or user."""
    # The server log gets the driver's reason; the client only what to do.
    log.warning(
        "%s %s: task-state database unavailable: %s", request.method, request.path, describe_outage(error)
    )
    message = "the task-state database is unavailable right now: retry later"
    return {"message": message}, 503, {"Retry-After": str(STATE_RETRY_AFTER_S)}


def document_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """Add to every operation of the OpenAPI document the errors it can get besides its own.

    The HTTP server's refusals (400, 414, 431) can answer any request, 413 any request with a
    body; each is a JSON `{"message": ...}`.
    """
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            errors = dict(SERVER_ERRORS)
            if "requestBody" in operation:
                errors["413"] = "Body over the size limit"
                # Every body wikitop reads is a JSON object it needs: without one the answer is 415.
                operation["requestBody"]["required"] = True
            if path not in STATELESS_PATHS:
                errors["503"] = "The task-state database is unavailable: retry after `Retry-After` seconds"
            responses = operation.setdefault("responses", {})
            for code, description in errors.items():
                response = responses.setdefault(code, {"description": description})
                if not response.get("content"):
                    response["content"] = {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    }
    return spec


def register_error_handlers(app: APIFlask) -> None:
    """Make every error response JSON with a `message`."""
    app.request_class = JsonRequest
    app.error_processor(http_error_response)
    # Registered after error_processor, which installs APIFlask's own handler that drops descriptions.
    app.register_error_handler(HTTPException, werkzeug_error_response)
    app.register_error_handler(UsageError, lambda exc: ({"message": str(exc)}, 400))
    app.register_error_handler(TaskNotFoundError, lambda exc: ({"message": str(exc)}, 404))
    app.register_error_handler(ResultNotReadyError, lambda exc: ({"message": str(exc)}, 404))
    for outage in (*STATE_OUTAGES, StateUnavailableError):
        app.register_error_handler(outage, state_unavailable_response)
    app.config.update(
        VALIDATION_ERROR_STATUS_CODE=400,
        VALIDATION_ERROR_DESCRIPTION="Invalid request",
        VALIDATION_ERROR_SCHEMA=ERROR_SCHEMA,
        HTTP_ERROR_SCHEMA=ERROR_SCHEMA,
    )
