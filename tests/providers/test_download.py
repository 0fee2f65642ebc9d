"""Downloading results: no key sent, URL rules, size cap, type checks, nothing left on error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from providers import Downloader, DownloadFailed, DownloadTooLarge, UnsafeURL, new_download_client
from tests.providersim import Fault, ProviderSim, tiny_mp4


@pytest.fixture
async def files(tmp_path: Path) -> AsyncIterator[tuple[ProviderSim, Downloader, Path]]:
    folder = tmp_path / "downloads"
    folder.mkdir()
    async with ProviderSim("wavespeed") as sim, new_download_client() as client:
        yield (
            sim,
            Downloader(
                client=client, max_bytes=1_000_000, directory=folder, allow_loopback_urls=True
            ),
            folder,
        )


async def test_streams_to_a_temp_file_without_credentials(
    files: tuple[ProviderSim, Downloader, Path],
) -> None:
    sim, downloader, folder = files
    body = tiny_mp4(300_000)
    url = sim.put_file("clip.mp4", body)
    got = await downloader.fetch(url, provider="WaveSpeed", prefix="job1")
    assert got.path.read_bytes() == body
    assert got.size == len(body)
    assert got.content_type == "video/mp4"
    assert got.path.parent == folder
    assert got.path.name.startswith("reelbot-job1-")
    [request] = sim.requests
    assert "authorization" not in request.headers


@pytest.mark.parametrize(
    ("kwargs", "error", "says"),
    [
        ({"size": 2_000_000}, DownloadTooLarge, "limit is 1000000"),
        (
            {"data": b"<html>nope</html>", "content_type": "text/html"},
            DownloadFailed,
            "not a video",
        ),
        ({"data": b"plain text pretending" * 10}, DownloadFailed, "not a video file"),
        ({"data": tiny_mp4(100), "status": 404}, DownloadFailed, "HTTP 404"),
        ({"data": b""}, DownloadFailed, "empty"),
    ],
)
async def test_bad_results_are_refused_and_leave_nothing(
    files: tuple[ProviderSim, Downloader, Path],
    kwargs: dict[str, object],
    error: type[Exception],
    says: str,
) -> None:
    sim, downloader, folder = files
    url = sim.put_file("bad.mp4", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(error) as caught:
        await downloader.fetch(url, provider="WaveSpeed")
    assert says in str(caught.value)
    assert list(folder.iterdir()) == []


async def test_a_connection_cut_mid_file_leaves_nothing(
    files: tuple[ProviderSim, Downloader, Path],
) -> None:
    sim, downloader, folder = files
    url = sim.put_file("cut.mp4", tiny_mp4(500_000))
    sim.fault(Fault(kind="file", drop="mid"))
    with pytest.raises(Exception, match="download failed"):
        await downloader.fetch(url, provider="WaveSpeed")
    assert list(folder.iterdir()) == []


async def test_the_cap_holds_even_when_the_length_is_not_declared(tmp_path: Path) -> None:
    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "video/mp4"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(tiny_mp4(64))
        for _ in range(40):
            await response.write(b"\0" * 65536)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/v.mp4", chunked)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with new_download_client() as client:
            downloader = Downloader(
                client=client, max_bytes=1_000_000, directory=tmp_path, allow_loopback_urls=True
            )
            with pytest.raises(DownloadTooLarge):
                await downloader.fetch(f"http://127.0.0.1:{port}/v.mp4", provider="P")
    finally:
        await runner.cleanup()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "target",
    ["http://169.254.169.254/latest/meta-data", "file:///etc/passwd", "http://10.1.2.3/x.mp4"],
)
async def test_redirects_to_private_places_are_refused(tmp_path: Path, target: str) -> None:
    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(target)

    app = web.Application()
    app.router.add_get("/r", redirect)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        async with new_download_client() as client:
            downloader = Downloader(
                client=client, max_bytes=1000, directory=tmp_path, allow_loopback_urls=True
            )
            with pytest.raises(UnsafeURL):
                await downloader.fetch(f"http://127.0.0.1:{port}/r", provider="P")
    finally:
        await runner.cleanup()
    assert list(tmp_path.iterdir()) == []


async def test_loopback_is_refused_outside_the_test_setting(
    files: tuple[ProviderSim, Downloader, Path], tmp_path: Path
) -> None:
    sim, _, _ = files
    url = sim.put_file("clip.mp4", tiny_mp4(100))
    async with new_download_client() as client:
        strict = Downloader(client=client, max_bytes=1000, directory=tmp_path)
        with pytest.raises(UnsafeURL):
            await strict.fetch(url, provider="P")
    assert sim.requests == []


async def test_a_client_with_credentials_is_refused() -> None:
    async with httpx.AsyncClient(headers={"Authorization": "Bearer x"}) as client:
        with pytest.raises(ValueError, match="Authorization"):
            Downloader(client=client, max_bytes=10)
