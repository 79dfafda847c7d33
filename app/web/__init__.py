"""The web workspace at /app/: server-rendered pages in Chinese (English with ?lang=en) for officials,
designers and auditors, over the same use cases and permissions as the REST API."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from app.web.pages import SignInRequired, router, signin_redirect

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/app/static", StaticFiles(directory=STATIC), name="web-static")
    app.add_exception_handler(SignInRequired, signin_redirect)  # type: ignore[arg-type]

    @app.get("/app", include_in_schema=False)
    async def workspace() -> RedirectResponse:
        return RedirectResponse("/app/", status_code=308)
