"""Looking for secrets everywhere the bot writes: logs, Discord, providers, the database, files.

A secret counts as leaked when it appears whole, or when any `WINDOW`-character piece of its
random part does (a clipped message can leak half a key).
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakediscord import FakeDiscord, FakeMessage
from tests.providersim import ProviderSim

WINDOW = 12
_FORMATTER = logging.Formatter("%(levelname)s %(name)s: %(message)s")


def sentinel(name: str) -> str:
    """A recognisable secret with a random tail, e.g. SENTINEL-discord-9f2c…"""
    return f"SENTINEL-{name}-{secrets.token_hex(16)}"


def pieces(secret: str) -> list[str]:
    """The secret itself and every WINDOW-long piece of its random tail."""
    tail = secret.rsplit("-", 1)[-1]
    return [secret, *(tail[i : i + WINDOW] for i in range(len(tail) - WINDOW + 1))]


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=repr)


@dataclass
class LeakScan:
    """Feed it everything; `findings` says where each secret (or a piece of it) showed up."""

    secrets: dict[str, str]
    findings: list[str] = field(default_factory=list)
    scanned: int = 0

    def text(self, where: str, value: str | bytes | None) -> None:
        if value is None:
            return
        self.scanned += 1
        haystack = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        for name, secret in self.secrets.items():
            for piece in pieces(secret):
                if piece in haystack:
                    whole = "the whole" if piece == secret else f"a piece ({piece!r}) of the"
                    self.findings.append(f"{where}: {whole} {name} secret")
                    break

    def obj(self, where: str, value: Any) -> None:
        self.text(where, _dump(value))

    # --- sources --------------------------------------------------------------------------

    def log_records(self, records: Iterable[logging.LogRecord]) -> None:
        """Every record from the bot and its libraries (the simulators' own logs, which
        echo the faults the tests inject, are not the bot's)."""
        for record in records:
            if record.name.startswith("tests."):
                continue
            self.text(f"log record {record.name}:{record.lineno}", _FORMATTER.format(record))

    def fake_discord(self, fake: FakeDiscord) -> None:
        for index, request in enumerate(fake.requests):
            where = f"Discord request #{index} {request.method} {request.path}"
            self.text(where + " path", request.path)
            self.obj(where + " query", request.query)
            self.obj(where + " json", request.json)
            for file in request.files:
                self.text(where + f" file {file.filename}", file.filename)
                self.text(where + f" file {file.filename} description", file.description)
                self.text(where + f" file {file.filename} data", file.data)
        for message in fake.messages.values():
            self.message(f"Discord message {message.id}", message)
        for interaction in fake.interactions.values():
            where = f"interaction {interaction.name}"
            self.obj(where + " callbacks", interaction.callbacks)
            for message in interaction.messages:
                self.message(where + f" message {message.id}", message)
        for error in fake.internal_errors:
            self.text("fake Discord internal error", repr(error))

    def message(self, where: str, message: FakeMessage) -> None:
        self.text(where + " content", message.content)
        self.obj(where + " embeds", message.embeds)
        self.obj(where + " components", message.components)
        self.obj(where + " attachments", message.attachments)
        self.obj(where + " edits", message.edits)
        self.obj(where + " payload", message.payload)
        for file in message.files:
            self.text(where + f" file {file.filename}", file.data)

    def provider(self, sim: ProviderSim) -> None:
        """What the bot sent to a provider, headers aside (they carry the key by design)."""
        for index, request in enumerate(sim.requests):
            where = f"{sim.flavor} request #{index} {request.method} {request.path}"
            self.text(where + " path", request.path)
            self.obj(where + " query", request.query)
            self.text(where + " body", request.body)

    def sqlite(self, database: Path) -> None:
        """Every row of every table, and the raw bytes of the database and its WAL."""
        with sqlite3.connect(database) as db:
            tables = [
                row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            assert {"job", "quota_ledger", "audit_log", "guild_config"} <= set(tables)
            for table in tables:
                rows = db.execute(f'SELECT * FROM "{table}"').fetchall()  # noqa: S608
                for number, row in enumerate(rows):
                    self.text(f"database table {table} row {number}", repr(row))
        db.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            path = Path(f"{database}{suffix}")
            if path.exists():
                self.text(f"database file {path.name}", path.read_bytes())

    def directory(self, root: Path, *, skip: Iterable[Path] = ()) -> None:
        skipped = {p.resolve() for p in skip}
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.resolve() not in skipped:
                self.text(f"file {path.relative_to(root)}", path.read_bytes())


def database_path(database_url: str) -> Path:
    return Path(database_url.removeprefix("sqlite:///"))


def header_problems(sim: ProviderSim, *, own_key: str, foreign: dict[str, str]) -> list[str]:
    """A provider gets its own key, in its Authorization header only, and nothing else
    secret; result files are fetched without any key."""
    problems: list[str] = []
    for index, request in enumerate(sim.requests):
        where = f"{sim.flavor} request #{index} {request.method} {request.path}"
        auth = request.headers.get("authorization")
        if request.kind == "file":
            if auth is not None:
                problems.append(f"{where}: the result download carried {auth[:12]}…")
        elif auth != f"Bearer {own_key}":
            problems.append(f"{where}: unexpected Authorization header")
        for header, value in request.headers.items():
            for name, secret in foreign.items():
                if secret in value:
                    problems.append(f"{where}: header {header} carries the {name} secret")
    return problems
