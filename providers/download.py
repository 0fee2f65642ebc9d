"""Downloading a finished video: a separate client that never carries an API key, HTTPS only,
redirects checked hop by hop, streamed in chunks to a temporary file with a hard size cap."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urljoin, urlsplit

import httpx

from providers.errors import DownloadFailed, DownloadTooLarge, TransientError, UnsafeURL
from providers.urls import check_resolved, pinned

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
MAX_REDIRECTS = 5
ALLOWED_TYPES = ("video/mp4", "video/quicktime", "video/webm", "application/octet-stream")
DOWNLOAD_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


@dataclass(frozen=True, slots=True)
class Downloaded:
    path: Path
    size: int
    content_type: str


def new_download_client() -> httpx.AsyncClient:
    """The client for output URLs: no auth headers, no automatic redirects."""
    return httpx.AsyncClient(timeout=DOWNLOAD_TIMEOUT, follow_redirects=False)


def looks_like_video(head: bytes) -> bool:
    """MP4/QuickTime carry `ftyp` at offset 4; WebM/Matroska start with the EBML magic."""
    return head[4:8] == b"ftyp" or head.startswith(b"\x1a\x45\xdf\xa3")


class Downloader:
    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        max_bytes: int,
        directory: Path | None = None,
        allow_loopback_urls: bool = False,
    ) -> None:
        if "authorization" in {k.lower() for k in client.headers}:
            raise ValueError("the download client must not carry an Authorization header")
        self._client = client
        self.max_bytes = max_bytes
        self._directory = directory
        self._allow_loopback = allow_loopback_urls

    async def fetch(self, url: str, *, provider: str, prefix: str = "") -> Downloaded:
        """Stream `url` to a new temporary file. The caller owns (and must delete) the file;
        on any error nothing is left behind."""
        fd, name = await asyncio.to_thread(
            tempfile.mkstemp,
            prefix=f"reelbot-{prefix}-" if prefix else "reelbot-",
            suffix=".mp4",
            dir=self._directory,
        )
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as sink:
                size, content_type = await self._stream(url, sink, provider=provider)
        except BaseException:
            await asyncio.to_thread(_unlink, path)
            raise
        return Downloaded(path=path, size=size, content_type=content_type)

    async def _stream(self, url: str, sink: IO[bytes], *, provider: str) -> tuple[int, str]:
        for _hop in range(MAX_REDIRECTS + 1):
            address = await check_resolved(
                url, allow_loopback=self._allow_loopback, provider=provider, what="the video URL"
            )
            target, headers, extensions = url, {}, {}
            if address is not None:
                # Connect to the address that was checked; TLS still verifies the name.
                parts = urlsplit(url)
                target = pinned(url, address)
                headers = {"Host": parts.netloc.rpartition("@")[2]}
                extensions = {"sni_hostname": parts.hostname or ""}
            try:
                async with self._client.stream(
                    "GET", target, headers=headers, extensions=extensions
                ) as response:
                    if response.is_redirect:
                        location = response.headers.get("Location")
                        if not location:
                            raise DownloadFailed("redirect without a Location", provider=provider)
                        url = urljoin(url, location)
                        continue
                    return await self._save(response, sink, provider=provider)
            except httpx.TransportError as error:
                raise TransientError(
                    f"the video download failed ({type(error).__name__})", provider=provider
                ) from error
        raise UnsafeURL("the video URL redirects too many times", provider=provider)

    async def _save(
        self, response: httpx.Response, sink: IO[bytes], *, provider: str
    ) -> tuple[int, str]:
        if response.status_code != 200:
            raise DownloadFailed(
                "the video URL did not answer with the file",
                provider=provider,
                http_status=response.status_code,
            )
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type not in ALLOWED_TYPES:
            raise DownloadFailed(
                f"the result is not a video (Content-Type {content_type or 'missing'})",
                provider=provider,
            )
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise DownloadTooLarge(
                f"{int(declared)} bytes; the limit is {self.max_bytes}", provider=provider
            )
        size = 0
        head = b""
        async for chunk in response.aiter_bytes(CHUNK):
            size += len(chunk)
            if size > self.max_bytes:
                raise DownloadTooLarge(f"more than {self.max_bytes} bytes", provider=provider)
            if len(head) < 16:
                head = (head + chunk)[:16]
                if len(head) >= 12 and not looks_like_video(head):
                    raise DownloadFailed("the result is not a video file", provider=provider)
            await asyncio.to_thread(sink.write, chunk)
        if size == 0 or not looks_like_video(head):
            raise DownloadFailed("the result is empty or not a video file", provider=provider)
        return size, content_type


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
