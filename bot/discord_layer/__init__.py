"""The Discord layer: the bot subclass, the presenter and status messages, rendering, buttons,
review and audit-channel posting. It translates between Discord and the core."""
