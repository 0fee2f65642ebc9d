"""The Discord-free core: jobs and their state machine, quotas, server rules, moderation,
settings and the database. Nothing under this package imports discord."""
