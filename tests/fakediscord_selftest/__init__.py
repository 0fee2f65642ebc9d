"""Self-tests of tests.fakediscord."""

import warnings

with warnings.catch_warnings():
    # discord.py imports the stdlib audioop module, deprecated since Python 3.11 (PEP 594);
    # with filterwarnings=error that import would fail test collection.
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord  # noqa: F401
