"""What a view reads: the HourRequests of its app, and a body or query validated by a Pydantic model."""

from __future__ import annotations

from typing import Any, TypeVar, cast

from apiflask import HTTPError
from flask import current_app, request
from pydantic import BaseModel, ValidationError

from wikitop.web.hour_requests import HourRequests

EXTENSION = "wikitop"
Model = TypeVar("Model", bound=BaseModel)


def current_hour_requests() -> HourRequests:
    """The HourRequests that create_app built for this app."""
    return cast(HourRequests, current_app.extensions[EXTENSION])


def read_payload(model: type[Model]) -> Model:
    """Validate the query parameters overlaid with the JSON body's fields, whatever the method.

    The prototype's clients send GET with a JSON body; a body that is present must be a JSON object.
    """
    data: dict[str, Any] = request.args.to_dict()
    # Reading the body enforces MAX_CONTENT_LENGTH (413) before any JSON is parsed.
    if request.get_data(cache=True).strip():
        body = request.get_json(force=True)
        if not isinstance(body, dict):
            fields = ", ".join(model.model_fields)
            raise HTTPError(
                400, f"the request body is a JSON {type(body).__name__}: expected an object of {fields}"
            )
        data |= body
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise HTTPError(400, detail={"body": _problems(exc)}) from None


def _problems(exc: ValidationError) -> dict[str, list[str]]:
    """Group Pydantic's errors by field, as APIFlask reports its own validation errors."""
    problems: dict[str, list[str]] = {}
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "_schema"
        problems.setdefault(field, []).append(error["msg"])
    return problems
