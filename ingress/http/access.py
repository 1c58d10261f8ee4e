"""Who may use WebChat and the dashboard: the holder of the run's token, through a loopback host name.

WebChat reads and writes the owner's conversations, so every WebChat API route and the dashboard need
the run's token, as `Authorization: Bearer <token>` (`clawbus say`, scripts) or as the `clawbus_webchat`
cookie (the page). The page gets the cookie by trading the token it finds in its URL's fragment
(`/#token=…`, which `clawbus up` prints; a fragment is never sent in a request line, a log or a Referer)
at `POST /webchat/api/session`: an HttpOnly, SameSite=Strict cookie, which scripts cannot read and other
sites cannot make the browser send. Tokens are compared with `hmac.compare_digest`. Without a valid one
the answer is 401 with a JSON body that says how to get in. An ingress with no token configured serves
no WebChat at all (every request gets that 401, and the start-up log says how to set one).

The same routes answer only to a Host header that names a loopback address (or the bound one, or a
configured `CLAWBUS_INGRESS__ALLOWED_HOSTS` entry): a page on another site whose name was re-pointed at
127.0.0.1 (DNS rebinding) gets 400 from Starlette's `TrustedHostMiddleware`. Webhooks (verified by the
platforms' signatures) and `/healthz` keep neither check, so tunnels and load balancers reach them as
before.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass

from pydantic import SecretStr
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from clawbus.bus.errors import ConfigError
from clawbus.bus.logging import log_event
from clawbus.bus.settings import Settings
from clawbus.ingress.http.token_file import client_id, read_token

logger = logging.getLogger(__name__)

COOKIE = "clawbus_webchat"
COOKIE_MAX_AGE_S = 30 * 24 * 3600  # a browser stays signed in for a month, or until the token rotates
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_WILDCARD_BINDS = ("", "0.0.0.0", "::", "[::]")  # noqa: S104  # names, not a bind


@dataclass(frozen=True)
class WebchatAccess:
    """The run's token (None: WebChat is locked) and where a user finds it, for the 401's message."""

    token: SecretStr | None
    where: str

    @classmethod
    def from_settings(cls, settings: Settings) -> WebchatAccess:
        """The token from `CLAWBUS_WEBCHAT__TOKEN`, else from `CLAWBUS_WEBCHAT__TOKEN_FILE`.

        Raises:
            ConfigError: the token file is missing, unsafe or holds no token (fail fast at start).
        """
        webchat = settings.webchat
        if webchat.token is not None:
            return cls(webchat.token, "the token in CLAWBUS_WEBCHAT__TOKEN")
        if webchat.token_file is not None:
            try:
                token = read_token(webchat.token_file)
            except FileNotFoundError as exc:
                raise ConfigError(
                    f"WebChat token file {webchat.token_file} (CLAWBUS_WEBCHAT__TOKEN_FILE) does not exist; "
                    "'clawbus up' makes it"
                ) from exc
            return cls(SecretStr(token), f"the token in {webchat.token_file}")
        if webchat.enabled:
            log_event(
                logger,
                "ingress.webchat.locked",
                logging.WARNING,
                reason="no token: WebChat and the dashboard answer 401 to everyone; set "
                "CLAWBUS_WEBCHAT__TOKEN_FILE or CLAWBUS_WEBCHAT__TOKEN ('clawbus up' does)",
            )
        return cls(None, "")

    def client(self, request: Request) -> str | None:
        """The client id (a hash of the token) when the request carries the run's token, else None."""
        if self.token is None:
            return None
        presented = _bearer(request) or request.cookies.get(COOKIE, "")
        expected = self.token.get_secret_value()
        if not presented or not hmac.compare_digest(presented.encode(), expected.encode()):
            return None
        return client_id(expected)

    def refusal(self) -> JSONResponse:
        """The 401 for a request without the run's token, saying how to get in."""
        if self.token is None:
            message = (
                "WebChat is locked: this ingress has no token configured; set CLAWBUS_WEBCHAT__TOKEN_FILE "
                "or CLAWBUS_WEBCHAT__TOKEN (as 'clawbus up' does) and restart it"
            )
        else:
            message = (
                "WebChat needs this run's token: open the URL 'clawbus up' printed (…/#token=…), or send "
                f"'Authorization: Bearer <token>' with {self.where}"
            )
        return JSONResponse(
            {"error": message}, status_code=401, headers={"WWW-Authenticate": 'Bearer realm="clawbus"'}
        )

    async def sign_in(self, request: Request) -> Response:
        """`POST /webchat/api/session` with the token as a bearer: 204 and the page's cookie."""
        if self.client(request) is None or self.token is None or not _bearer(request):
            return self.refusal()
        response = Response(status_code=204)
        response.set_cookie(
            COOKIE,
            self.token.get_secret_value(),
            max_age=COOKIE_MAX_AGE_S,
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response


def _bearer(request: Request) -> str:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


class RequireToken:
    """ASGI middleware: a request without the run's token gets the 401; one with it carries its client id
    in `request.state.webchat_client`."""

    def __init__(self, app: ASGIApp, access: WebchatAccess) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = self.access.client(Request(scope))
        if client is None:
            await self.access.refusal()(scope, receive, send)
            return
        scope.setdefault("state", {})["webchat_client"] = client
        await self.app(scope, receive, send)


def allowed_hosts(settings: Settings) -> list[str]:
    """Host names WebChat and the dashboard answer to: loopback, the bound address, configured ones."""
    hosts = [*LOOPBACK_HOSTS, *settings.ingress.allowed_hosts]
    bound = settings.ingress.host
    if bound not in _WILDCARD_BINDS:
        hosts.append(f"[{bound}]" if ":" in bound and not bound.startswith("[") else bound)
    return list(dict.fromkeys(h.lower() for h in hosts))


def host_check(settings: Settings) -> Middleware:
    """The Host header check (400 for any other name), for the routes a browser reads."""
    return Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(settings), www_redirect=False)


def protected(settings: Settings, access: WebchatAccess) -> list[Middleware]:
    """Host check, then token: the middleware of every WebChat API and dashboard route."""
    return [host_check(settings), Middleware(RequireToken, access=access)]
