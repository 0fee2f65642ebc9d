"""Result URLs the bot must never fetch: this machine, private and link-local networks, other
schemes, and redirects to any of them. ALLOW_LOOPBACK_URLS (testing only) admits plain HTTP on
loopback and nothing more."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import bot.app
from bot.core.jobs.models import JobState
from providers import Downloader, UnsafeURL
from tests.providersim import JobScript, tiny_mp4
from tests.security._world import DownloadLog, LoopbackServer, SecureWorld, secure_world

FETCH_REFUSED = "the finished video could not be fetched"


@pytest.fixture
async def server() -> AsyncIterator[LoopbackServer]:
    async with LoopbackServer() as running:
        running.serve("/v.mp4", tiny_mp4(256))
        yield running


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> DownloadLog:
    """Record every request the bot's download client sends."""
    log = DownloadLog()
    monkeypatch.setattr(bot.app, "new_download_client", log.client)
    return log


def refused_urls(port: int, base: str) -> list[str]:
    """Result URLs a provider might report; `port` serves a real video on 127.0.0.1, so any
    of them that got through would be fetched and posted."""
    return [
        f"{base}/v.mp4",
        f"http://localhost:{port}/v.mp4",
        f"https://127.0.0.1:{port}/v.mp4",
        f"https://localhost:{port}/v.mp4",
        f"https://[::1]:{port}/v.mp4",
        f"https://127.1:{port}/v.mp4",
        f"https://2130706433:{port}/v.mp4",
        f"https://0x7f000001:{port}/v.mp4",
        f"https://0.0.0.0:{port}/v.mp4",
        f"https://[::ffff:127.0.0.1]:{port}/v.mp4",
        "https://10.0.0.1/v.mp4",
        "https://172.16.5.4/v.mp4",
        "https://192.168.1.20/v.mp4",
        "https://100.64.0.1/v.mp4",
        "https://169.254.169.254/latest/meta-data/iam/",
        "https://[fe80::1]/v.mp4",
        "https://[fd00::1]/v.mp4",
        "https://user:secret@cdn.example.com/v.mp4",
        "file:///etc/passwd",
        f"ftp://127.0.0.1:{port}/v.mp4",
        "gopher://127.0.0.1:70/_x",
        "data:video/mp4;base64,AAAAGGZ0eXBtcDQy",
        f"{base}/redirect",  # the first hop is already loopback
    ]


async def run_with_url(w: SecureWorld, url: str, user: int) -> None:
    w.runcomfy.script(JobScript(run_seconds=5, video_url=url))
    reply = await w.reply(await w.video("fetch this", provider="runcomfy", user=user))
    assert "on its way" in reply
    [job] = w.jobs_of(user)
    job = await w.wait_final(job.id)
    assert job.state is JobState.FAILED, (url, job.state)
    assert job.error == FETCH_REFUSED, (url, job.error)
    assert job.refunded and w.charged(user) == 0, url
    [status] = [m for m in w.statuses() if m.id == job.status_message_id]
    await w.fake.wait_for(lambda: "could not be fetched" in str(status.embeds))
    assert "quota was given back" in str(status.embeds)


async def test_private_loopback_and_other_scheme_urls_are_refused(
    tmp_path: Path, server: LoopbackServer, downloads: DownloadLog
) -> None:
    server.redirect("/redirect", "https://cdn.example.com/v.mp4")
    port = int(server.base_url.rsplit(":", 1)[1])
    async with secure_world(
        tmp_path, allow_loopback_urls=False, max_concurrent_jobs=4, quota_limit=5
    ) as w:
        await w.start_bot()
        # The simulator's own result URL is plain HTTP on loopback: refused as well.
        await run_with_url(w, w.runcomfy.file_url("own.mp4"), user=7000)
        for index, url in enumerate(refused_urls(port, server.base_url)):
            await run_with_url(w, url, user=7001 + index)
        assert w.results() == []
        assert downloads.urls == []
        assert server.hits == []
        assert [p for p in w.settings.work_dir.joinpath("tmp").iterdir()] == []


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://169.254.169.254/latest/meta-data/",
        "http://[::ffff:a9fe:a9fe]/latest/meta-data/",
        "http://10.0.0.1/v.mp4",
        "https://10.0.0.1/v.mp4",
        "https://192.168.0.1/v.mp4",
        "//10.0.0.1/v.mp4",
        "file:///etc/passwd",
        "ftp://127.0.0.1/v.mp4",
        "http://user:pw@127.0.0.1:1/v.mp4",
        "https://localhost./v.mp4",
    ],
)
async def test_a_redirect_from_loopback_to_a_private_target_is_refused(
    tmp_path: Path, server: LoopbackServer, target: str
) -> None:
    log = DownloadLog()
    first = server.redirect("/r", target, status=301 if "https" in target else 302)
    async with log.client() as client:
        downloader = Downloader(
            client=client, max_bytes=1_000_000, directory=tmp_path, allow_loopback_urls=True
        )
        with pytest.raises(UnsafeURL):
            await downloader.fetch(first, provider="RunComfy")
    assert log.urls == [first]
    assert [h.path for h in server.hits] == ["/r"]
    assert list(tmp_path.iterdir()) == []


async def test_redirect_chains_and_loops(tmp_path: Path, server: LoopbackServer) -> None:
    log = DownloadLog()
    hop2 = server.redirect("/hop2", "http://10.0.0.1/v.mp4", status=307)
    hop1 = server.redirect("/hop1", hop2, status=308)
    server.redirect("/loop", "/loop")
    async with log.client() as client:
        downloader = Downloader(
            client=client, max_bytes=1_000_000, directory=tmp_path, allow_loopback_urls=True
        )
        with pytest.raises(UnsafeURL, match=r"loopback|private|https"):
            await downloader.fetch(hop1, provider="RunComfy")
        assert log.urls == [hop1, hop2]
        with pytest.raises(UnsafeURL, match="too many"):
            await downloader.fetch(server.base_url + "/loop", provider="RunComfy")
        # The control: the same client does follow an allowed redirect and gets the video.
        ok = server.redirect("/ok", "/v.mp4")
        got = await downloader.fetch(ok, provider="RunComfy")
        assert got.size == 256
        got.path.unlink()
    assert list(tmp_path.iterdir()) == []


async def test_through_the_bot_a_redirect_to_the_metadata_service_is_refused(
    tmp_path: Path, server: LoopbackServer, downloads: DownloadLog
) -> None:
    first = server.redirect("/r", "http://169.254.169.254/latest/meta-data/")
    async with secure_world(tmp_path) as w:  # allow_loopback_urls=True, the test setting
        await w.start_bot()
        await run_with_url(w, first, user=7100)
        assert w.results() == []
        assert downloads.urls == [first]
        assert [h.path for h in server.hits] == ["/r"]


async def test_dns_rebinding_does_not_reach_this_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    connections: list[int] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        writer.close()

    listener = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    real = socket.getaddrinfo
    answers = iter(["93.184.216.34"])  # public once, then loopback

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("rebind.test", b"rebind.test"):
            return real(host, *args, **kwargs)
        address = next(answers, "127.0.0.1")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    log = DownloadLog()
    try:
        async with log.client() as client:
            downloader = Downloader(client=client, max_bytes=1_000_000, directory=tmp_path)
            with pytest.raises(Exception):  # noqa: B017 - any refusal will do
                async with asyncio.timeout(5):  # a fixed bot may try the public address
                    await downloader.fetch(f"https://rebind.test:{port}/v.mp4", provider="X")
    finally:
        listener.close()
        await listener.wait_closed()
    assert connections == []
