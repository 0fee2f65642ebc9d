"""What every provider's settings share: the connection a provider is built with, and the checks
on its key and base URL. Each provider declares its own keys beside its code (for example
`providers.runcomfy.RunComfySettings`); `providers.registry.ProviderSettings` composes them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr

# Values people paste from templates; refusing them at start-up beats a 401 at the first job.
PLACEHOLDER = re.compile(
    r"^(change[-_ ]?me|todo|x{3,}|\.\.\.|<.*>|your[-_ ].*|.*placeholder.*|.*example.*)$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    api_key: SecretStr
    base_url: str


def real_secret(value: object) -> object:
    """A pasted secret: stripped, empty as None, a template placeholder refused."""
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        if PLACEHOLDER.match(value):
            raise ValueError("looks like a placeholder; paste the real value or leave it empty")
    return value


def blank_as_none(value: object) -> object:
    """An optional setting left empty in `.env` (``KEY=``) is unset."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def origin(value: str) -> str:
    """A base URL: an http(s) origin without a trailing slash."""
    value = value.strip().rstrip("/")
    if not value.startswith(("https://", "http://")):
        raise ValueError("must be an origin such as https://api.example.com")
    return value


def config_of(api_key: SecretStr | None, base_url: str) -> ProviderConfig | None:
    """The provider's connection, or None when it has no key (it is not offered)."""
    return None if api_key is None else ProviderConfig(api_key=api_key, base_url=base_url)


# The field types every provider's keys use; each provider names its own fields (their names are
# the environment variables), e.g. `runcomfy_api_key: ApiKey = None`.
ApiKey = Annotated[SecretStr | None, BeforeValidator(real_secret)]
"""Without a key, the provider is not offered."""
BaseUrl = Annotated[str, AfterValidator(origin)]
PricePerUnit = Annotated[Annotated[Decimal, Field(ge=0)] | None, BeforeValidator(blank_as_none)]
"""What one quota unit costs at the provider, in the admin's currency: `/reelbot usage` turns
units into an estimated cost with it. None: no estimate."""
