"""The explicit registry of providers, and how the composition root builds the configured ones."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

import httpx

from providers.base import Provider
from providers.models import ProviderName
from providers.retry import RetryPolicy
from providers.runcomfy import RunComfy, RunComfySettings
from providers.settings import ProviderConfig
from providers.wavespeed import WaveSpeed, WaveSpeedSettings


class ProviderSettings(WaveSpeedSettings, RunComfySettings):  # fields: RunComfy first
    """Every provider's settings, each declared beside its provider, under the same flat names
    as in the environment (RUNCOMFY_API_KEY, WAVESPEED_BASE_URL, ...)."""

    allow_loopback_urls: bool = False

    def provider_configs(self) -> dict[ProviderName, ProviderConfig]:
        """The configured providers (those with a key), in registry order."""
        found = {name: connection(self) for name, connection in CONNECTIONS.items()}
        return {name: config for name, config in found.items() if config is not None}

    def prices_per_unit(self) -> dict[ProviderName, Decimal]:
        """The price of one quota unit at each provider that has one (an estimate's basis)."""
        prices = {
            ProviderName.RUNCOMFY: self.runcomfy_price_per_unit,
            ProviderName.WAVESPEED: self.wavespeed_price_per_unit,
        }
        return {name: price for name, price in prices.items() if price is not None}


CONNECTIONS: dict[ProviderName, Callable[[ProviderSettings], ProviderConfig | None]] = {
    ProviderName.RUNCOMFY: RunComfySettings.runcomfy_config,
    ProviderName.WAVESPEED: WaveSpeedSettings.wavespeed_config,
}

Factory = Callable[..., Provider]

FACTORIES: dict[ProviderName, Factory] = {
    ProviderName.RUNCOMFY: RunComfy,
    ProviderName.WAVESPEED: WaveSpeed,
}


def build_providers(
    configs: dict[ProviderName, ProviderConfig],
    *,
    client: httpx.AsyncClient,
    allow_loopback_urls: bool,
    retry: RetryPolicy | None = None,
    webhook_urls: Mapping[ProviderName, str] | None = None,
) -> dict[ProviderName, Provider]:
    """One client per configured provider, in registry order. Providers without a key are absent.
    `webhook_urls`: callback URLs for providers that call back (WaveSpeed)."""
    urls = webhook_urls or {}
    return {
        name: FACTORIES[name](
            client=client,
            api_key=configs[name].api_key,
            base_url=configs[name].base_url,
            allow_loopback_urls=allow_loopback_urls,
            retry=retry,
            **({"webhook_url": urls[name]} if name in urls else {}),
        )
        for name in FACTORIES
        if name in configs
    }
