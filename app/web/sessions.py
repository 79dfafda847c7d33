"""The web workspace's session: one signed cookie holding the CSRF token of the browser and, once
signed in, the account and its generation (app.access.accounts.session_principal checks it on every
request, so a changed password or group ends the session at once)."""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.context import Services

COOKIE = "eco_session"
PATH = "/app"


@dataclass(frozen=True)
class WebSession:
    csrf: str
    user_id: str | None = None
    generation: str | None = None


def _serializer(services: Services) -> URLSafeTimedSerializer:
    configured = services.settings.web_session_secret.get_secret_value()
    secret = configured.encode("utf-8") if configured else services.signer.derived_secret("web-session")
    return URLSafeTimedSerializer(secret, salt="eco-web-session")


def read(request: Request, services: Services) -> WebSession | None:
    """The request's session, or None without a cookie, with a forged or an expired one."""
    cookie = request.cookies.get(COOKIE)
    if not cookie or len(cookie) > 4096:
        return None
    try:
        data = _serializer(services).loads(cookie, max_age=services.settings.web_session_hours * 3600)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), str):
        return None
    user, generation = data.get("u"), data.get("g")
    return WebSession(data["c"], user if isinstance(user, str) else None,
                      generation if isinstance(generation, str) else None)


def fresh(user_id: str | None = None, generation: str | None = None) -> WebSession:
    """A new session with a new CSRF token (a sign-in and a sign-out each start one)."""
    return WebSession(secrets.token_urlsafe(24), user_id, generation)


def write(response: Response, request: Request, services: Services, session: WebSession) -> None:
    value = _serializer(services).dumps({"c": session.csrf, "u": session.user_id, "g": session.generation})
    response.set_cookie(COOKIE, value, path=PATH, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")


def csrf_matches(session: WebSession | None, submitted: object) -> bool:
    return (session is not None and isinstance(submitted, str)
            and hmac.compare_digest(session.csrf.encode(), submitted.encode()))
