"""The files the fake platforms hold for inbound media (issue 20), served the way each platform does.

`serve(platform, ref, data)` puts a file up; the ref is what a test writes into its inbound payload
(`telegram_ref`, `whatsapp_ref`, … give it for a name):

| platform | ref on the payload | how it is fetched |
|---|---|---|
| telegram | `file_id` | `getFile` → `file_path`, `GET /telegram/file/bot<token>/<path>` |
| whatsapp | media id | `GET /whatsapp/v<ver>/<id>` (bearer) → `url`, `GET <url>` (bearer) |
| slack | `url_private_download` | `GET /slack/files/<name>` (bearer) |
| discord | attachment `url` | `GET /discord/cdn/<name>` |

A file not served answers as the platform does for an unknown or expired one (400 on getFile, 404
elsewhere); `fail_files(status, times)` answers the next downloads with an error (a 5xx: retryable).
`downloads` counts every download per platform; `bearer` records the Authorization each one carried.
"""

from __future__ import annotations

import threading
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


class PlatformFiles:
    """Files by platform and ref (see module)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._files: dict[tuple[str, str], bytes] = {}
        self._fail: list[int] = []
        self._lock = threading.Lock()
        self.downloads: dict[str, int] = {}
        self.bearer: dict[str, list[str]] = {}

    def serve(self, platform: str, ref: str, data: bytes) -> str:
        """Put `data` up under `ref`; the ref to write into the payload (a URL for Slack and Discord)."""
        with self._lock:
            self._files[(platform, ref)] = data
        if platform == "slack":
            return f"{self._url}/slack/files/{ref}"
        if platform == "discord":
            return f"{self._url}/discord/cdn/{ref}"
        return ref

    def fail_files(self, status: int, times: int = 1) -> None:
        """Answer the next `times` downloads with `status`."""
        with self._lock:
            self._fail.extend([status] * times)

    def routes(self) -> list[Route]:
        """The download routes (getFile goes through the Bot API route: `telegram_get_file`)."""
        return [
            Route("/telegram/file/bot{token}/{path:path}", self._telegram_file, methods=["GET"]),
            Route("/whatsapp/media-download/{ref}", self._whatsapp_download, methods=["GET"]),
            Route("/whatsapp/{version}/{ref}", self._whatsapp_lookup, methods=["GET"]),
            Route("/slack/files/{ref}", self._slack_file, methods=["GET"]),
            Route("/discord/cdn/{ref}", self._discord_file, methods=["GET"]),
        ]

    def telegram_get_file(self, body: dict[str, Any]) -> Response:
        """The Bot API's `getFile`: a `file_path`, or 400 for an unknown file_id."""
        file_id = str(body.get("file_id", ""))
        if ("telegram", file_id) not in self._files:
            return JSONResponse(
                {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}, 400
            )
        data = self._files[("telegram", file_id)]
        result = {
            "file_id": file_id,
            "file_unique_id": file_id[:8],
            "file_size": len(data),
            "file_path": f"documents/{file_id}",
        }
        return JSONResponse({"ok": True, "result": result})

    def _download(self, platform: str, ref: str, request: Request) -> Response:
        with self._lock:
            self.downloads[platform] = self.downloads.get(platform, 0) + 1
            self.bearer.setdefault(platform, []).append(request.headers.get("authorization", ""))
            status = self._fail.pop(0) if self._fail else 0
        if status:
            return Response(b"failure cued by the test", status_code=status)
        data = self._files.get((platform, ref))
        if data is None:
            return Response(b"not found", status_code=404)
        return Response(data, media_type="application/octet-stream")

    async def _telegram_file(self, request: Request) -> Response:
        return self._download("telegram", request.path_params["path"].rsplit("/", 1)[-1], request)

    async def _whatsapp_lookup(self, request: Request) -> Response:
        ref = request.path_params["ref"]
        data = self._files.get(("whatsapp", ref))
        if data is None:
            return JSONResponse(
                {"error": {"message": "Unsupported get request", "code": 100}}, status_code=404
            )
        url = f"{self._url}/whatsapp/media-download/{ref}"
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "url": url,
                "mime_type": "application/octet-stream",
                "file_size": len(data),
                "id": ref,
            }
        )

    async def _whatsapp_download(self, request: Request) -> Response:
        return self._download("whatsapp", request.path_params["ref"], request)

    async def _slack_file(self, request: Request) -> Response:
        return self._download("slack", request.path_params["ref"], request)

    async def _discord_file(self, request: Request) -> Response:
        return self._download("discord", request.path_params["ref"], request)
