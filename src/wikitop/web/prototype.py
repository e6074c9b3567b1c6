"""The prototype's two endpoints, kept compatible: GET (or POST) with a JSON body, or query parameters."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, abort
from flask import Response
from pydantic import BaseModel

from wikitop.web.guard import writes
from wikitop.web.inputs import current_hour_requests, read_payload
from wikitop.web.schemas import (
    PrototypeAsk,
    PrototypeAskedOut,
    PrototypeTaskOut,
    PrototypeTaskQuery,
    prototype_task_out,
)

NOT_FOUND = "This task does not exist"
# The input model of each endpoint; the OpenAPI document gets them from document_inputs.
INPUTS: dict[str, type[BaseModel]] = {"/ask_page_views": PrototypeAsk, "/get_task_state": PrototypeTaskQuery}

bp = APIBlueprint("prototype", __name__, tag="Prototype")


@bp.get("/ask_page_views")
@bp.post("/ask_page_views")
@bp.output(PrototypeAskedOut, status_code=202, description="The hours were recorded; new ones were queued")
@bp.doc(responses={400: "Bad hour, range or body"})
@writes
def ask_page_views() -> PrototypeAskedOut:
    """Ask for the top pages of start_date..end_date.

    As in the prototype: `{"start_date": "2020010115", "end_date": "2020010119"}`, end_date optional
    and inclusive, sent as the body of a GET or POST, or as query parameters.
    """
    payload = read_payload(PrototypeAsk)
    asked = current_hour_requests().ask(payload.start_date, payload.end_date)
    return PrototypeAskedOut(
        message=asked.message, tasks=[prototype_task_out(state) for state in asked.states]
    )


@bp.get("/get_task_state")
@bp.post("/get_task_state")
@bp.output(PrototypeTaskOut, description="The hour's task state")
@bp.doc(responses={400: "Bad hour or body", 404: f'Never asked for: `{{"message": "{NOT_FOUND}"}}`'})
def get_task_state() -> Response:
    """Get the state of one hour's task.

    As in the prototype: `{"date": "2020010115"}` as the body of a GET or POST, or `?date=2020010115`.
    """
    query = read_payload(PrototypeTaskQuery)
    state = current_hour_requests().find(query.date)
    if state is None:
        abort(404, NOT_FOUND)
    # The hot path of pollers: Pydantic's own JSON encoder, rather than dump-then-jsonify, halves
    # the serialisation cost; a Response passes through `output`, which still documents the schema.
    return Response(prototype_task_out(state).model_dump_json(), mimetype="application/json")


def document_inputs(spec: dict[Any, Any] | str) -> dict[Any, Any] | str:
    """Add each endpoint's input to the OpenAPI document: query parameters for GET, a JSON body for POST.

    APIFlask's input decorator reads one location; these endpoints merge the query and the body,
    so they parse input themselves (inputs.read_payload) and are documented here. Each method is
    documented with the form a client can send from anywhere (a browser cannot send a GET with a
    body); the prototype's GET with a JSON body is still read, as the descriptions say.
    """
    assert isinstance(spec, dict), "SPEC_FORMAT is json"
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for path, model in INPUTS.items():
        schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        operations = spec["paths"].get(path, {})
        if "get" in operations:
            operations["get"]["parameters"] = [
                {
                    "name": name,
                    "in": "query",
                    "required": field.is_required(),
                    "description": field.description,
                    "schema": {"type": "string", **(field.json_schema_extra or {})},  # type: ignore[dict-item]
                }
                for name, field in model.model_fields.items()
            ]
        if "post" in operations:
            operations["post"]["requestBody"] = {
                "required": True,
                "description": "A JSON object (the same fields are also read from the query string)",
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
                },
            }
    return spec
