"""What Discord would refuse in an application command payload (bulk overwrite or create).

Every rule is from Discord's developer documentation, interactions/application-commands
("Application Command Object", "Application Command Naming", "Localization", "Limits")."""

from __future__ import annotations

import unicodedata
from typing import Any

from ._state import JSON, ApiError
from ._validation import _Errors

CHAT_INPUT, USER, MESSAGE = 1, 2, 3
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2

#: "Locales" (reference): the only keys accepted in name/description_localizations.
LOCALES = frozenset(
    [
        "id",
        "da",
        "de",
        "en-GB",
        "en-US",
        "es-ES",
        "es-419",
        "fr",
        "hr",
        "it",
        "lt",
        "hu",
        "nl",
        "no",
        "pl",
        "pt-BR",
        "ro",
        "fi",
        "sv-SE",
        "vi",
        "tr",
        "cs",
        "el",
        "bg",
        "ru",
        "uk",
        "hi",
        "th",
        "zh-CN",
        "ja",
        "zh-TW",
        "ko",
    ]
)
MAX_NAME = 32
MAX_DESCRIPTION = 100
MAX_OPTIONS = 25
MAX_CHOICES = 25
MAX_CHOICE_NAME = 100
MAX_CHOICE_STRING_VALUE = 100
#: "the combined sum of characters in all names, descriptions, and values ... (including
#: localizations) may not exceed 8000" (Limits).
MAX_COMMAND_CHARACTERS = 8000
#: "An app can have up to 100 top-level global commands with unique names, and up to 15 user
#: and 15 message commands" (the same per server).
MAX_COMMANDS = {CHAT_INPUT: 100, USER: 15, MESSAGE: 15}


def _name_char_ok(char: str) -> bool:
    """One character of ``^[-_\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$``."""
    if char in "-_":
        return True
    if unicodedata.category(char)[0] in ("L", "N"):
        return True
    code = ord(char)
    # Devanagari (U+0900-097F, extended U+A8E0-A8FF) and Thai (U+0E00-0E7F) scripts.
    return 0x0900 <= code <= 0x097F or 0xA8E0 <= code <= 0xA8FF or 0x0E00 <= code <= 0x0E7F


class _Checker:
    def __init__(self) -> None:
        self.errors = _Errors()
        self.characters = 0

    def name(self, path: list[str | int], value: Any, *, chat_input: bool) -> None:
        """CHAT_INPUT names (commands, options) follow the pattern and are lower case where the
        character has a lower-case form; user and message command names are 1-32 of anything."""
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_NAME:
            self.errors.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_NAME}.")
            return
        self.characters += len(value)
        if chat_input and not all(_name_char_ok(c) for c in value):
            self.errors.add(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        elif chat_input and value != value.lower():
            self.errors.add(
                path, "APPLICATION_COMMAND_NAME_LOWERCASE", "Command name must be lower case"
            )

    def description(self, path: list[str | int], value: Any, *, required: bool) -> None:
        text = value if isinstance(value, str) else ""
        if required and not 1 <= len(text) <= MAX_DESCRIPTION:
            self.errors.add(
                path, "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_DESCRIPTION} in length."
            )
        elif not required and text:
            self.errors.add(
                path,
                "APPLICATION_COMMAND_DESCRIPTION_NOT_EMPTY",
                "User and message commands cannot have a description",
            )
        self.characters += len(text)

    def localizations(
        self, path: list[str | int], value: Any, *, kind: str, chat_input: bool
    ) -> None:
        """``name_localizations`` / ``description_localizations``: locale keys only, each value
        under the same rules as the field it translates."""
        if value is None:
            return
        if not isinstance(value, dict):
            self.errors.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used.")
            return
        for locale, text in value.items():
            here = [*path, locale]
            if locale not in LOCALES:
                self.errors.add(here, "LOCALE_INVALID", f"Invalid locale: {locale}")
            elif kind == "name":
                self.name(here, text, chat_input=chat_input)
            else:
                self.description(here, text, required=True)

    def choices(self, path: list[str | int], choices: Any, option_type: int) -> None:
        if not isinstance(choices, list):
            return
        if len(choices) > MAX_CHOICES:
            self.errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CHOICES} or fewer.")
        for i, choice in enumerate(choices):
            here: list[str | int] = [*path, i]
            name = choice.get("name")
            if not isinstance(name, str) or not 1 <= len(name) <= MAX_CHOICE_NAME:
                self.errors.add(
                    [*here, "name"],
                    "BASE_TYPE_BAD_LENGTH",
                    f"Must be between 1 and {MAX_CHOICE_NAME} in length.",
                )
            else:
                self.characters += len(name)
            for locale, text in (choice.get("name_localizations") or {}).items():
                if locale not in LOCALES:
                    self.errors.add(
                        [*here, "name_localizations", locale],
                        "LOCALE_INVALID",
                        f"Invalid locale: {locale}",
                    )
                elif not isinstance(text, str) or not 1 <= len(text) <= MAX_CHOICE_NAME:
                    self.errors.add(
                        [*here, "name_localizations", locale],
                        "BASE_TYPE_BAD_LENGTH",
                        f"Must be between 1 and {MAX_CHOICE_NAME} in length.",
                    )
                else:
                    self.characters += len(text)
            value = choice.get("value")
            self.characters += len(str(value))
            if option_type == 3 and (
                not isinstance(value, str) or not 1 <= len(value) <= MAX_CHOICE_STRING_VALUE
            ):
                self.errors.add(
                    [*here, "value"],
                    "BASE_TYPE_BAD_LENGTH",
                    f"Must be between 1 and {MAX_CHOICE_STRING_VALUE} in length.",
                )

    def options(self, path: list[str | int], options: Any, *, depth: int) -> None:
        """Options of a command (depth 0), of a group (1) or of a sub-command (2)."""
        if not options:
            return
        if not isinstance(options, list):
            self.errors.add(path, "LIST_TYPE_CONVERT", "Only iterables may be used.")
            return
        if len(options) > MAX_OPTIONS:
            self.errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_OPTIONS} or fewer.")
        names: set[str] = set()
        seen_optional = False
        kinds = {int(o.get("type") or 0) in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in options}
        if len(kinds) > 1:
            self.errors.add(
                path,
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Sub-commands and groups cannot be mixed with other options",
            )
        for i, option in enumerate(options):
            here: list[str | int] = [*path, i]
            option_type = int(option.get("type") or 0)
            self.name([*here, "name"], option.get("name"), chat_input=True)
            self.description([*here, "description"], option.get("description"), required=True)
            self.localizations(
                [*here, "name_localizations"],
                option.get("name_localizations"),
                kind="name",
                chat_input=True,
            )
            self.localizations(
                [*here, "description_localizations"],
                option.get("description_localizations"),
                kind="description",
                chat_input=True,
            )
            name = str(option.get("name"))
            if name in names:
                self.errors.add(
                    [*here, "name"],
                    "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS",
                    "Option name already exists",
                )
            names.add(name)
            if option_type == SUB_COMMAND_GROUP and depth > 0:
                self.errors.add(
                    [*here, "type"], "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Too deeply nested"
                )
            if option_type == SUB_COMMAND and depth > 1:
                self.errors.add(
                    [*here, "type"], "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Too deeply nested"
                )
            if option_type in (SUB_COMMAND, SUB_COMMAND_GROUP):
                inner = option.get("options")
                if option_type == SUB_COMMAND_GROUP and any(
                    int(o.get("type") or 0) != SUB_COMMAND for o in inner or []
                ):
                    self.errors.add(
                        [*here, "options"],
                        "APPLICATION_COMMAND_OPTION_TYPE_INVALID",
                        "A group holds sub-commands only",
                    )
                self.options([*here, "options"], inner, depth=depth + 1)
                continue
            # "Required options must be listed before optional options."
            if option.get("required"):
                if seen_optional:
                    self.errors.add(
                        [*here, "required"],
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
            else:
                seen_optional = True
            self.choices([*here, "choices"], option.get("choices"), option_type)
            if option.get("choices") and option.get("autocomplete"):
                self.errors.add(
                    [*here, "autocomplete"],
                    "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
                    "Autocomplete cannot be used with choices",
                )
            for key in ("min_length", "max_length"):
                bound = option.get(key)
                if bound is not None and not 0 <= int(bound) <= 6000:
                    self.errors.add([*here, key], "NUMBER_TYPE_MAX", "Must be between 0 and 6000.")

    def command(self, path: list[str | int], command: JSON) -> None:
        command_type = int(command.get("type") or CHAT_INPUT)
        chat_input = command_type == CHAT_INPUT
        self.characters = 0
        self.name([*path, "name"], command.get("name"), chat_input=chat_input)
        self.description([*path, "description"], command.get("description"), required=chat_input)
        self.localizations(
            [*path, "name_localizations"],
            command.get("name_localizations"),
            kind="name",
            chat_input=chat_input,
        )
        self.localizations(
            [*path, "description_localizations"],
            command.get("description_localizations"),
            kind="description",
            chat_input=chat_input,
        )
        if chat_input:
            self.options([*path, "options"], command.get("options"), depth=0)
        elif command.get("options"):
            self.errors.add(
                [*path, "options"],
                "APPLICATION_COMMAND_OPTIONS_INVALID",
                "User and message commands cannot have options",
            )
        if self.characters > MAX_COMMAND_CHARACTERS:
            self.errors.add(
                path,
                "APPLICATION_COMMAND_TOO_LARGE",
                f"Command exceeds maximum size ({MAX_COMMAND_CHARACTERS})",
            )


def validate_commands(commands: list[Any]) -> ApiError | None:
    """The error Discord would answer for a bulk overwrite of these commands, if any."""
    checker = _Checker()
    counts: dict[int, int] = {}
    seen: set[tuple[int, str]] = set()
    for i, command in enumerate(commands):
        if not isinstance(command, dict):
            checker.errors.add([i], "DICT_TYPE_CONVERT", "Only dictionaries may be used.")
            continue
        checker.command([i], command)
        command_type = int(command.get("type") or CHAT_INPUT)
        counts[command_type] = counts.get(command_type, 0) + 1
        key = (command_type, str(command.get("name")))
        if key in seen:
            checker.errors.add(
                [i, "name"],
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            )
        seen.add(key)
    for command_type, count in counts.items():
        if count > MAX_COMMANDS.get(command_type, 100):
            checker.errors.add(
                [], "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_COMMANDS[command_type]} or fewer."
            )
    if checker.errors.tree:
        return ApiError(400, 50035, "Invalid Form Body", errors=checker.errors.tree)
    return None
