"""What Discord would refuse in a message payload, and who a message would ping."""

from __future__ import annotations

import re
from typing import Any

from ._state import JSON, ApiError

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_EVERYONE = re.compile(r"@(everyone|here)\b")

COMPONENTS_V2_FLAG = 1 << 15


class _Errors:
    def __init__(self) -> None:
        self.tree: JSON = {}

    def add(self, path: list[str | int], code: str, message: str) -> None:
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def max_length(self, path: list[str | int], value: Any, limit: int) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def _embed_length(embed: JSON) -> int:
    total = len(str(embed.get("title") or "")) + len(str(embed.get("description") or ""))
    for fld in embed.get("fields") or []:
        total += len(str(fld.get("name") or "")) + len(str(fld.get("value") or ""))
    total += len(str((embed.get("footer") or {}).get("text") or ""))
    total += len(str((embed.get("author") or {}).get("name") or ""))
    return total


def _check_embeds(errors: _Errors, embeds: list[JSON]) -> None:
    if len(embeds) > 10:
        errors.add(["embeds"], "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    for i, embed in enumerate(embeds):
        errors.max_length(["embeds", i, "title"], embed.get("title"), 256)
        errors.max_length(["embeds", i, "description"], embed.get("description"), 4096)
        fields = embed.get("fields") or []
        if len(fields) > 25:
            errors.add(
                ["embeds", i, "fields"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
            )
        for j, fld in enumerate(fields):
            errors.max_length(["embeds", i, "fields", j, "name"], fld.get("name"), 256)
            errors.max_length(["embeds", i, "fields", j, "value"], fld.get("value"), 1024)
        errors.max_length(
            ["embeds", i, "footer", "text"], (embed.get("footer") or {}).get("text"), 2048
        )
        errors.max_length(
            ["embeds", i, "author", "name"], (embed.get("author") or {}).get("name"), 256
        )
    if sum(_embed_length(e) for e in embeds) > 6000:
        errors.add(["embeds"], "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")


def _check_components(errors: _Errors, components: list[JSON], flags: int) -> None:
    seen: set[str] = set()

    def walk(items: list[JSON], path: list[str | int]) -> None:
        for i, item in enumerate(items):
            here = [*path, i]
            custom_id = item.get("custom_id")
            if custom_id is not None:
                if not 1 <= len(str(custom_id)) <= 100:
                    errors.add(
                        [*here, "custom_id"],
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    )
                if custom_id in seen:
                    errors.add(
                        [*here, "custom_id"],
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    )
                seen.add(str(custom_id))
            if item.get("type") in (3, 5, 6, 7, 8):  # select menus (reference: components)
                errors.max_length([*here, "placeholder"], item.get("placeholder"), 150)
                options = item.get("options") or []
                if len(options) > 25:
                    errors.add(
                        [*here, "options"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                    )
                for k, option in enumerate(options):
                    for key in ("label", "value", "description"):
                        errors.max_length([*here, "options", k, key], option.get(key), 100)
                for key in ("min_values", "max_values"):
                    bound = item.get(key)
                    if bound is not None and not 0 <= int(bound) <= 25:
                        errors.add([*here, key], "NUMBER_TYPE_MAX", "Must be between 0 and 25.")
            if item.get("type") == 4:  # text input (modals)
                errors.max_length([*here, "label"], item.get("label"), 45)
                errors.max_length([*here, "placeholder"], item.get("placeholder"), 100)
                errors.max_length([*here, "value"], item.get("value"), 4000)
                for key in ("min_length", "max_length"):
                    bound = item.get(key)
                    if bound is not None and not 0 <= int(bound) <= 4000:
                        errors.add([*here, key], "NUMBER_TYPE_MAX", "Must be between 0 and 4000.")
            if item.get("type") == 2:
                errors.max_length([*here, "label"], item.get("label"), 80)
                if item.get("style") != 5 and item.get("style") != 6 and custom_id is None:
                    errors.add([*here, "custom_id"], "BASE_TYPE_REQUIRED", "This field is required")
            children = item.get("components") or []
            if item.get("type") == 1:
                selects = [c for c in children if c.get("type") in (3, 5, 6, 7, 8)]
                if len(children) > 5 or (selects and len(children) > 1):
                    errors.add(
                        [*here, "components"],
                        "BASE_TYPE_MAX_LENGTH",
                        "Must be 5 or fewer in length.",
                    )
            walk(children, [*here, "components"])
            for key in ("component", "accessory"):
                inner = item.get(key)
                if isinstance(inner, dict):
                    walk([inner], [*here, key])

    if not flags & COMPONENTS_V2_FLAG and len(components) > 5:
        errors.add(["components"], "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
    walk(components, ["components"])


def validate_message(payload: JSON, *, files: int, creating: bool) -> ApiError | None:
    """Return the error Discord would answer for this create/edit payload, if any."""
    errors = _Errors()
    content = payload.get("content")
    if content is not None and not isinstance(content, str):
        content = str(content)
    errors.max_length(["content"], content, 2000)
    # resources/message, Create Message: "nonce: integer or string ... (up to 25 characters)".
    nonce = payload.get("nonce")
    errors.max_length(["nonce"], None if nonce is None else str(nonce), 25)
    embeds = payload.get("embeds") or []
    _check_embeds(errors, embeds)
    flags = int(payload.get("flags") or 0)
    components = payload.get("components") or []
    _check_components(errors, components, flags)
    if flags & COMPONENTS_V2_FLAG and (content or embeds):
        errors.add(
            ["content"],
            "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
            "Cannot use content or embeds",
        )
    mentions = payload.get("allowed_mentions")
    if isinstance(mentions, dict):
        parse = mentions.get("parse") or []
        if "users" in parse and mentions.get("users"):
            errors.add(
                ["allowed_mentions"],
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                "parse:users and users are mutually exclusive",
            )
        if "roles" in parse and mentions.get("roles"):
            errors.add(
                ["allowed_mentions"],
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                "parse:roles and roles are mutually exclusive",
            )
    if errors.tree:
        return ApiError(400, 50035, "Invalid Form Body", errors=errors.tree)
    if creating and not (
        content
        or embeds
        or components
        or files
        or payload.get("attachments")
        or payload.get("sticker_ids")
        or payload.get("poll")
    ):
        return ApiError(400, 50006, "Cannot send an empty message")
    return None


def validate_modal(data: JSON) -> ApiError | None:
    """A modal (callback type 9; Discord docs interactions/receiving-and-responding, "Modal"):
    title 1-45, custom_id 1-100, 1-5 top-level components, each as for messages."""
    errors = _Errors()
    title = data.get("title")
    if not isinstance(title, str) or not 1 <= len(title) <= 45:
        errors.add(["title"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.")
    custom_id = data.get("custom_id")
    if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= 100:
        errors.add(["custom_id"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    components = data.get("components") or []
    if not 1 <= len(components) <= 5:
        errors.add(["components"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
    _check_components(errors, components, COMPONENTS_V2_FLAG)
    if errors.tree:
        return ApiError(400, 50035, "Invalid Form Body", errors={"data": errors.tree})
    return None


def validate_choices(data: JSON) -> ApiError | None:
    """Autocomplete choices (callback type 8): at most 25, names 1-100, string values up to
    100 (Discord docs interactions/application-commands, "Application Command Option Choice")."""
    errors = _Errors()
    choices = data.get("choices") or []
    if len(choices) > 25:
        errors.add(["choices"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    for i, choice in enumerate(choices):
        name = choice.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            errors.add(["choices", i, "name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100.")
        value = choice.get("value")
        if isinstance(value, str):
            errors.max_length(["choices", i, "value"], value, 100)
    if errors.tree:
        return ApiError(400, 50035, "Invalid Form Body", errors={"data": errors.tree})
    return None


def compute_mentions(
    content: str | None,
    allowed_mentions: JSON | None,
    *,
    replied_user_id: int | None = None,
) -> tuple[bool, list[int], list[int]]:
    """Who Discord would notify: (everyone/here, user ids, role ids), applying allowed_mentions
    (absent = everything is parsed)."""
    text = content or ""
    if allowed_mentions is None:
        parse = {"users", "roles", "everyone"}
        users: set[int] = set()
        roles: set[int] = set()
        replied = True
    else:
        parse = set(allowed_mentions.get("parse") or [])
        users = {int(u) for u in allowed_mentions.get("users") or []}
        roles = {int(r) for r in allowed_mentions.get("roles") or []}
        replied = bool(allowed_mentions.get("replied_user", False))
    user_ids: list[int] = []
    for match in _USER_MENTION.finditer(text):
        uid = int(match.group(1))
        if ("users" in parse or uid in users) and uid not in user_ids:
            user_ids.append(uid)
    if replied_user_id is not None and replied and replied_user_id not in user_ids:
        user_ids.append(replied_user_id)
    role_ids: list[int] = []
    for match in _ROLE_MENTION.finditer(text):
        rid = int(match.group(1))
        if ("roles" in parse or rid in roles) and rid not in role_ids:
            role_ids.append(rid)
    everyone = "everyone" in parse and _EVERYONE.search(text) is not None
    return everyone, user_ids, role_ids
