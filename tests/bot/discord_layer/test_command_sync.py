"""The comparison that decides whether commands need syncing again."""

from __future__ import annotations

from typing import Any

from bot.discord_layer.command_sync import same_commands


def _sent() -> list[dict[str, Any]]:
    return [
        {
            "name": "reelbot",
            "description": "Server settings",
            "type": 1,
            "default_member_permissions": 32,
            "dm_permission": False,
            "nsfw": False,
            "options": [{"name": "units", "description": "How many", "type": 4, "required": True}],
        }
    ]


def _stored() -> list[dict[str, Any]]:
    """The same command as Discord answers it: ids added, defaults left out or spelled
    differently (permissions as a string)."""
    return [
        {
            "id": "1",
            "application_id": "2",
            "guild_id": "3",
            "version": "4",
            "name": "reelbot",
            "description": "Server settings",
            "type": 1,
            "default_member_permissions": "32",
            "options": [{"name": "units", "description": "How many", "type": 4, "required": True}],
        }
    ]


def test_the_same_commands_as_discord_stores_them_are_the_same() -> None:
    assert same_commands(_sent(), _stored())


def test_a_changed_description_is_a_change() -> None:
    stored = _stored()
    stored[0]["options"][0]["description"] = "How many units"
    assert not same_commands(_sent(), stored)


def test_a_changed_permission_is_a_change() -> None:
    stored = _stored()
    stored[0]["default_member_permissions"] = "8"
    assert not same_commands(_sent(), stored)


def test_an_extra_or_missing_command_is_a_change() -> None:
    assert not same_commands(_sent(), [*_stored(), {"name": "old", "type": 1}])
    assert not same_commands(_sent(), [])
    assert not same_commands([], _stored())
