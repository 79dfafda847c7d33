"""The OpenAPI description declares how callers sign in, so that Swagger UI at /docs can sign in.

The description and /docs are public on purpose: they are the contract (Camunda's own API and the
service's additions), hold no data, and Swagger UI must read the description before anyone signs in.
Every operation in it but /health needs credentials."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

SECURITY_SCHEMES = {
    "basic": {"type": "http", "scheme": "basic", "description": "An account of the service"},
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
               "description": "A token of the configured single sign-on (JWT_ISSUER)"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
               "description": "A system's API key (eco-orchestrator api-key)"},
}
PUBLIC_PATHS = frozenset({"/health"})


def install(app: FastAPI) -> None:
    def description() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description,
                                 routes=app.routes)
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            schema["security"] = [{name: []} for name in SECURITY_SCHEMES]
            for path in PUBLIC_PATHS & schema.get("paths", {}).keys():
                for operation in schema["paths"][path].values():
                    operation["security"] = []
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = description  # type: ignore[method-assign]
