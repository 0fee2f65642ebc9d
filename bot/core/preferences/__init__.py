"""Remembered preferences: a member's own defaults and a channel's, and the order in which
they fill what a command left out."""
