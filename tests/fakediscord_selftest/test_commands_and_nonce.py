"""Self-tests of the fake's command registries, command validation and message nonces,
spoken to over real HTTP as Discord's REST API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakediscord import FakeDiscord, FakeInteraction

GUILD_ID = 1_400_000_000_000_000_001
OTHER_GUILD_ID = 1_400_000_000_000_000_002  # the bot is not in it
CHANNEL_ID = 1_400_000_000_000_000_010


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    fake.add_guild(GUILD_ID).add_channel(CHANNEL_ID, name="general")
    async with fake:
        yield fake
    assert fake.internal_errors == [], fake.internal_errors


@pytest.fixture
async def http(fake: FakeDiscord) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {fake.token}"}) as session:
        yield session


def _commands_url(fake: FakeDiscord, guild_id: int | None = None) -> str:
    base = f"{fake.api_base}/applications/{fake.application_id}"
    return f"{base}/commands" if guild_id is None else f"{base}/guilds/{guild_id}/commands"


def _command(**changes: Any) -> dict[str, Any]:
    command: dict[str, Any] = {"name": "video", "description": "Make a video", "type": 1}
    command.update(changes)
    return command


def _option(name: str = "prompt", **changes: Any) -> dict[str, Any]:
    option: dict[str, Any] = {"name": name, "description": "What to show", "type": 3}
    option.update(changes)
    return option


async def test_sync_to_a_server_the_bot_is_not_in_is_missing_access(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    for method in ("GET", "PUT"):
        body = [_command()] if method == "PUT" else None
        async with http.request(method, _commands_url(fake, OTHER_GUILD_ID), json=body) as resp:
            assert resp.status == 403
            assert (await resp.json())["code"] == 50001
    assert OTHER_GUILD_ID not in fake.registered_guild_commands


async def test_global_and_server_registries_are_separate(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    async with http.put(_commands_url(fake), json=[_command()]) as resp:
        assert resp.status == 200
    async with http.put(_commands_url(fake, GUILD_ID), json=[_command(name="quota")]) as resp:
        assert resp.status == 200
    async with http.get(_commands_url(fake)) as resp:
        assert [c["name"] for c in await resp.json()] == ["video"]
    async with http.get(_commands_url(fake, GUILD_ID)) as resp:
        assert [c["name"] for c in await resp.json()] == ["quota"]
    async with http.put(_commands_url(fake), json=[]) as resp:
        assert resp.status == 200 and await resp.json() == []
    assert fake.registered_global_commands == []


VALID = {
    "hindi name": _command(name="वीडियो"),
    "thai name": _command(name="วิดีโอ"),
    "dash and underscore": _command(name="make-a_video"),
    "25 options": _command(options=[_option(f"o{i}") for i in range(25)]),
    "25 choices": _command(
        options=[_option(choices=[{"name": f"c{i}", "value": f"v{i}"} for i in range(25)])]
    ),
    "localised": _command(
        name_localizations={"de": "video", "fr": "vidéo"},
        description_localizations={"de": "Ein Video machen"},
    ),
    "localised options and choices": _command(
        options=[
            _option(
                description_localizations={"fr": "Ce qu'il faut montrer", "ja": "表示する内容"},
                choices=[{"name": "5 seconds", "value": "5", "name_localizations": {"ja": "5秒"}}],
            )
        ]
    ),
    "user command": {"name": "Make Video", "type": 2, "description": ""},
    "group of sub-commands": _command(
        name="reelbot",
        options=[
            {
                "name": "channels",
                "description": "Where",
                "type": 2,
                "options": [{"name": "allow", "description": "Allow", "type": 1}],
            }
        ],
    ),
}


@pytest.mark.parametrize("command", VALID.values(), ids=VALID.keys())
async def test_valid_commands_are_accepted(
    fake: FakeDiscord, http: aiohttp.ClientSession, command: dict[str, Any]
) -> None:
    async with http.put(_commands_url(fake, GUILD_ID), json=[command]) as resp:
        assert resp.status == 200, await resp.text()


INVALID: dict[str, tuple[list[dict[str, Any]], list[str]]] = {
    "upper-case name": ([_command(name="Video")], ["0", "name"]),
    "space in name": ([_command(name="make video")], ["0", "name"]),
    "name of 33": ([_command(name="v" * 33)], ["0", "name"]),
    "empty name": ([_command(name="")], ["0", "name"]),
    "empty description": ([_command(description="")], ["0", "description"]),
    "description of 101": ([_command(description="d" * 101)], ["0", "description"]),
    "26 options": (
        [_command(options=[_option(f"o{i}") for i in range(26)])],
        ["0", "options"],
    ),
    "option name upper-case": ([_command(options=[_option("Prompt")])], ["0", "options", "0"]),
    "option description of 101": (
        [_command(options=[_option(description="d" * 101)])],
        ["0", "options", "0", "description"],
    ),
    "26 choices": (
        [_command(options=[_option(choices=[{"name": f"c{i}", "value": "v"} for i in range(26)])])],
        ["0", "options", "0", "choices"],
    ),
    "choice name of 101": (
        [_command(options=[_option(choices=[{"name": "c" * 101, "value": "v"}])])],
        ["0", "options", "0", "choices", "0", "name"],
    ),
    "choice value of 101": (
        [_command(options=[_option(choices=[{"name": "c", "value": "v" * 101}])])],
        ["0", "options", "0", "choices", "0", "value"],
    ),
    "required after optional": (
        [_command(options=[_option("a"), _option("b", required=True)])],
        ["0", "options", "1", "required"],
    ),
    "duplicate option": ([_command(options=[_option(), _option()])], ["0", "options", "1"]),
    "unknown locale": ([_command(name_localizations={"xx": "video"})], ["0"]),
    "localised name upper-case": (
        [_command(name_localizations={"de": "Video"})],
        ["0", "name_localizations", "de"],
    ),
    "localised description of 101": (
        [_command(description_localizations={"fr": "d" * 101})],
        ["0", "description_localizations", "fr"],
    ),
    "localised option name with a space": (
        [_command(options=[_option(name_localizations={"de": "ein text"})])],
        ["0", "options", "0", "name_localizations", "de"],
    ),
    # "Localization": the same limits hold for every locale's text as for the default.
    "empty localised description": (
        [_command(description_localizations={"ja": ""})],
        ["0", "description_localizations", "ja"],
    ),
    "localised name of 33": (
        [_command(name_localizations={"fr": "v" * 33})],
        ["0", "name_localizations", "fr"],
    ),
    "localised option description of 101": (
        [_command(options=[_option(description_localizations={"ja": "説" * 101})])],
        ["0", "options", "0", "description_localizations", "ja"],
    ),
    "localised option description with an unknown locale": (
        [_command(options=[_option(description_localizations={"fr-FR": "Quoi"})])],
        ["0", "options", "0", "description_localizations", "fr-FR"],
    ),
    "localised choice name of 101": (
        [
            _command(
                options=[
                    _option(
                        choices=[
                            {"name": "c", "value": "v", "name_localizations": {"fr": "c" * 101}}
                        ]
                    )
                ]
            )
        ],
        ["0", "options", "0", "choices", "0", "name_localizations", "fr"],
    ),
    "localised choice name with an unknown locale": (
        [
            _command(
                options=[
                    _option(
                        choices=[{"name": "c", "value": "v", "name_localizations": {"jp": "c"}}]
                    )
                ]
            )
        ],
        ["0", "options", "0", "choices", "0", "name_localizations", "jp"],
    ),
    "user command with a description": (
        [{"name": "Make Video", "type": 2, "description": "no"}],
        ["0", "description"],
    ),
    "group inside a group": (
        [
            _command(
                options=[
                    {
                        "name": "a",
                        "description": "a",
                        "type": 2,
                        "options": [
                            {"name": "b", "description": "b", "type": 2, "options": []},
                        ],
                    }
                ]
            )
        ],
        ["0", "options", "0"],
    ),
    "sub-command mixed with an option": (
        [_command(options=[{"name": "a", "description": "a", "type": 1}, _option()])],
        ["0", "options"],
    ),
    "duplicate command": ([_command(), _command()], ["1", "name"]),
    "over 8000 characters": (
        [
            _command(
                options=[
                    _option(
                        f"o{i}",
                        description="d" * 100,
                        choices=[{"name": "c" * 100, "value": "v" * 100} for _ in range(2)],
                    )
                    for i in range(25)
                ]
            )
        ],
        ["0"],
    ),
}


@pytest.mark.parametrize(("commands", "path"), INVALID.values(), ids=INVALID.keys())
async def test_invalid_commands_are_refused_with_the_field(
    fake: FakeDiscord, http: aiohttp.ClientSession, commands: list[dict[str, Any]], path: list[str]
) -> None:
    async with http.put(_commands_url(fake, GUILD_ID), json=commands) as resp:
        assert resp.status == 400
        body = await resp.json()
    assert body["code"] == 50035
    node = body["errors"]
    for part in path:
        node = node[part]
    assert node, body
    assert GUILD_ID not in fake.registered_guild_commands
    # the same rules for a single command
    async with http.post(_commands_url(fake, GUILD_ID), json=commands[-1]) as resp:
        assert resp.status == 400 or len(commands) > 1


async def _post(http: aiohttp.ClientSession, fake: FakeDiscord, **payload: Any) -> Any:
    async with http.post(f"{fake.api_base}/channels/{CHANNEL_ID}/messages", json=payload) as resp:
        return resp.status, await resp.json()


async def test_enforced_nonce_returns_the_first_message(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    status, first = await _post(http, fake, content="hi", nonce="job-1", enforce_nonce=True)
    assert status == 200 and first["nonce"] == "job-1"
    status, again = await _post(http, fake, content="hi", nonce="job-1", enforce_nonce=True)
    assert status == 200 and again["id"] == first["id"]
    assert len(fake.channel_messages(CHANNEL_ID)) == 1


async def test_nonce_without_enforce_or_after_the_window_posts_again(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    await _post(http, fake, content="a", nonce="n1")
    await _post(http, fake, content="a", nonce="n1")
    assert len(fake.channel_messages(CHANNEL_ID)) == 2
    fake.nonce_window = 0.0
    await _post(http, fake, content="b", nonce="n2", enforce_nonce=True)
    await _post(http, fake, content="b", nonce="n2", enforce_nonce=True)
    assert len(fake.channel_messages(CHANNEL_ID)) == 4


async def test_nonce_longer_than_25_is_refused(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    status, body = await _post(http, fake, content="a", nonce="n" * 26, enforce_nonce=True)
    assert status == 400 and "nonce" in body["errors"]
    assert fake.channel_messages(CHANNEL_ID) == []


async def test_failure_after_handling_creates_the_message_and_loses_the_answer(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    fake.fail_next("POST", rf"/channels/{CHANNEL_ID}/messages$", status=503, after_handling=True)
    status, _ = await _post(http, fake, content="lost answer")
    assert status == 503
    assert [m.content for m in fake.channel_messages(CHANNEL_ID)] == ["lost answer"]
    status, _ = await _post(http, fake, content="next")
    assert status == 200


def _pending_interaction(fake: FakeDiscord) -> FakeInteraction:
    """An interaction as if just dispatched, to answer over HTTP."""
    interaction = FakeInteraction(
        id=fake.snowflakes.next(),
        token=fake.new_interaction_token(),
        type=2,
        name="x",
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
        user_id=1,
        payload={},
    )
    fake.interactions[interaction.id] = interaction
    fake.interactions_by_token[interaction.token] = interaction
    return interaction


def _text_input(**changes: Any) -> dict[str, Any]:
    text_input: dict[str, Any] = {"type": 4, "custom_id": "t", "style": 1, "label": "Reason"}
    text_input.update(changes)
    return {"type": 1, "components": [text_input]}


MODALS: dict[str, tuple[dict[str, Any], int]] = {
    "valid": ({"title": "Reject", "custom_id": "m", "components": [_text_input()]}, 200),
    "title of 46": ({"title": "t" * 46, "custom_id": "m", "components": [_text_input()]}, 400),
    "no components": ({"title": "t", "custom_id": "m", "components": []}, 400),
    "6 rows": (
        {
            "title": "t",
            "custom_id": "m",
            "components": [_text_input(custom_id=f"t{i}") for i in range(6)],
        },
        400,
    ),
    "label of 46": (
        {"title": "t", "custom_id": "m", "components": [_text_input(label="l" * 46)]},
        400,
    ),
    "placeholder of 101": (
        {"title": "t", "custom_id": "m", "components": [_text_input(placeholder="p" * 101)]},
        400,
    ),
    "max_length of 4001": (
        {"title": "t", "custom_id": "m", "components": [_text_input(max_length=4001)]},
        400,
    ),
}


@pytest.mark.parametrize(("modal", "status"), MODALS.values(), ids=MODALS.keys())
async def test_modal_limits(
    fake: FakeDiscord, http: aiohttp.ClientSession, modal: dict[str, Any], status: int
) -> None:
    interaction = _pending_interaction(fake)
    url = f"{fake.api_base}/interactions/{interaction.id}/{interaction.token}/callback"
    async with http.post(url, json={"type": 9, "data": modal}) as resp:
        assert resp.status in (200, 204) if status == 200 else resp.status == status
    assert (interaction.modal is not None) == (status == 200)


@pytest.mark.parametrize(
    ("choices", "ok"),
    [
        ([{"name": f"c{i}", "value": "v"} for i in range(25)], True),
        ([{"name": f"c{i}", "value": "v"} for i in range(26)], False),
        ([{"name": "c" * 101, "value": "v"}], False),
        ([{"name": "c", "value": "v" * 101}], False),
    ],
    ids=["25", "26", "name of 101", "value of 101"],
)
async def test_autocomplete_choice_limits(
    fake: FakeDiscord, http: aiohttp.ClientSession, choices: list[dict[str, Any]], ok: bool
) -> None:
    interaction = _pending_interaction(fake)
    url = f"{fake.api_base}/interactions/{interaction.id}/{interaction.token}/callback"
    async with http.post(url, json={"type": 8, "data": {"choices": choices}}) as resp:
        assert (resp.status < 300) == ok


async def test_select_menu_limits(fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
    select = {
        "type": 3,
        "custom_id": "s",
        "placeholder": "p" * 151,
        "options": [{"label": "l" * 101, "value": f"v{i}"} for i in range(26)],
    }
    status, body = await _post(
        http, fake, content="x", components=[{"type": 1, "components": [select]}]
    )
    assert status == 400
    errors = body["errors"]["components"]["0"]["components"]["0"]
    assert {"placeholder", "options"} <= set(errors)
    assert "label" in errors["options"]["0"]


async def test_a_command_in_both_registries_is_visible_twice(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    async with http.put(_commands_url(fake), json=[_command()]) as resp:
        assert resp.status == 200
    async with http.put(_commands_url(fake, GUILD_ID), json=[_command()]) as resp:
        assert resp.status == 200
    assert fake.visible_commands(GUILD_ID) == ["video", "video"]
