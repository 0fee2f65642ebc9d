"""A small aiohttp server on a `HOST:PORT` setting, started and stopped with the bot."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.core.settings import parse_listen

log = logging.getLogger(__name__)


class Listener:
    """Serves `app` on `listen` (port 0 picks a free one; `url` says which)."""

    def __init__(self, app: web.Application, *, listen: str, name: str) -> None:
        self._app = app
        self._host, self._port = parse_listen(listen)
        self._name = name
        self._runner: web.AppRunner | None = None
        self.url: str | None = None

    async def start(self) -> None:
        runner = web.AppRunner(self._app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"
        log.info("%s listening on %s", self._name, self.url)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
