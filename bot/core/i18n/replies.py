"""Where private replies put text, and Discord's limit there, in characters: the message
contexts (msgctxt) of what a member or admin reads alone (ephemeral answers to their own
commands and buttons), in the member's own locale (`interaction.locale`).

Discord's documentation: resources/message, "Create Message" (content up to 2000 characters)
and "Embed Limits" (title 256, field name 256, field value 1024)."""

from __future__ import annotations

PRIVATE_LIMITS: dict[str, int] = {
    "reply": 2000,
    "reply_title": 256,
    "reply_field_name": 256,
    "reply_field_value": 1024,
}
