"""The HTTP API: the prototype's two endpoints, REST under /api/v1, health checks and OpenAPI docs.

`create_app` (web.app) builds the Flask application; `run_api` (web.server) serves it with gunicorn.
"""
