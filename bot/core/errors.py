"""The core's refusals: why a member's request was turned down, as data. Every one means that
nothing was charged. The words a member reads are chosen in one place on the chat side
(`bot.discord_layer.errors.member_text`), in the member's language; a server rule's refusal
names its message where the rule is (`Refusal.wording`, translated when shown)."""

from __future__ import annotations

from collections.abc import Callable

from bot.core.i18n import Wording
from bot.core.quota_policy import Usage
from providers import Mode, ProviderName, UnsupportedOption


class Refused(Exception):
    """The root of the core's refusals."""


class NotAccepting(Refused):
    """The process is stopping or starting: it takes no new jobs now."""

    def __init__(self) -> None:
        super().__init__("not accepting jobs")


class Refusal(Refused):
    """A server rule said no. `wording` is for the member (`later(...)`); `rule` names the rule
    for the audit log."""

    def __init__(
        self,
        rule: str,
        wording: Wording,
        *,
        quoted: str | None = None,
        quoted_limit: int | None = None,
    ) -> None:
        self.rule = rule
        self.wording = wording  # with "{quoted}" where someone's own words go
        self.quoted = quoted  # someone's own words (an admin's reason, a prompt), shown as-is
        self.quoted_limit = quoted_limit  # at most this many characters of it, once escaped
        super().__init__(wording.english(quoted=quoted or ""))

    def render(self, escape: Callable[[str], str], locale: str | None = None) -> str:
        """The message in a Discord locale's language (English by default), with the quoted
        text passed through the chat's own escaping."""
        if self.quoted is None:
            return self.wording.text(locale)
        return self.wording.text(locale, quoted=escape(self.quoted))


class NoProviders(Refused):
    """No provider is configured on this bot at all."""

    def __init__(self) -> None:
        super().__init__("no provider configured")


class ProviderNotConfigured(Refused):
    def __init__(self, name: ProviderName, available: tuple[ProviderName, ...]) -> None:
        self.name = name
        self.available = available
        super().__init__(f"{name.value} is not configured")


class InvalidRequest(Refused):
    """The request's options do not validate (`detail`, about `field` if there is one)."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        self.field = field
        self.detail = detail
        super().__init__(f"{field}: {detail}" if field else detail)


class OptionUnsupported(Refused):
    """The chosen provider cannot do what was asked (in `mode`); `alternatives` could."""

    def __init__(
        self,
        error: UnsupportedOption,
        alternatives: tuple[ProviderName, ...],
        *,
        mode: Mode = Mode.TEXT,
    ) -> None:
        self.error = error
        self.alternatives = alternatives
        self.mode = mode
        super().__init__(error.detail)


class ChannelUnusable(Refused):
    """The bot lacks permissions it needs in the channel (`missing`, by permission name)."""

    def __init__(self, missing: tuple[str, ...]) -> None:
        self.missing = missing
        super().__init__(f"missing permissions: {', '.join(missing)}")


class QuotaExceeded(Refused):
    def __init__(self, usage: Usage, cost: int, available_at: float | None) -> None:
        self.usage = usage
        self.cost = cost
        self.available_at = available_at
        super().__init__(f"quota exceeded: {usage.used}/{usage.limit}, needs {cost}")


class BudgetExhausted(Refused):
    """The server's daily budget would be exceeded."""

    def __init__(self, used: int, budget: int, resets_at: float) -> None:
        self.used = used
        self.budget = budget
        self.resets_at = resets_at
        super().__init__(f"server budget exhausted: {used}/{budget}")


class TooManyInFlight(Refused):
    def __init__(self, usage: Usage) -> None:
        self.usage = usage
        super().__init__(f"{usage.in_flight} jobs in flight, cap {usage.max_in_flight}")


class AlreadyStarted(Refused):
    """This interaction already started a job (`job_id`): it was delivered twice. Nothing more
    is charged."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"this interaction already started job {job_id}")
