"""Where the bot's public posts put text, and Discord's limit there, in characters: the
message contexts (msgctxt) of those texts. The catalogue check holds every translation to
its place's limit.

Discord's documentation: resources/message ("Embed Limits": title 256, description 4096,
field name 256, field value 1024, footer text 2048) and the message's content (2000);
components/reference (button label 80, text input label 45, placeholder 100) and
interactions/receiving-and-responding (modal title 45)."""

from __future__ import annotations

PUBLIC_LIMITS: dict[str, int] = {
    "content": 2000,
    "embed_title": 256,
    "embed_description": 4096,
    "field_name": 256,
    "field_value": 1024,
    "footer": 2048,
    "button": 80,
    "modal_title": 45,
    "input_label": 45,
    "input_placeholder": 100,
}
