"""The /docs page's Swagger UI files, served by the app itself from the swagger-ui-bundle package.

APIFlask's default page loads them from a CDN, which leaves /docs blank on a machine without
internet access (an air-gapped cluster, a laptop on a train).
"""

from __future__ import annotations

from typing import Any

from apiflask import APIFlask
from flask import Blueprint

ASSETS_PATH = "/docs/assets"


def serve_docs_assets(app: APIFlask) -> None:
    """Serve Swagger UI's script, style and icon under /docs/assets and point the /docs page at them."""
    from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

    assets = Blueprint(
        "docs_assets", __name__, static_folder=str(swagger_ui_path), static_url_path=ASSETS_PATH
    )
    app.register_blueprint(assets)
    config: dict[str, Any] = {
        "SWAGGER_UI_BUNDLE_JS": f"{ASSETS_PATH}/swagger-ui-bundle.js",
        "SWAGGER_UI_STANDALONE_PRESET_JS": f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        "SWAGGER_UI_CSS": f"{ASSETS_PATH}/swagger-ui.css",
        "DOCS_FAVICON": f"{ASSETS_PATH}/favicon-32x32.png",
        # Swagger UI would send the spec to validator.swagger.io for its badge: nothing leaves the page.
        "SWAGGER_UI_CONFIG": {"validatorUrl": None},
    }
    app.config.update(config)
