from __future__ import annotations

import pytest

from bot.core.settings import SettingsError, load_settings
from providers import ProviderName


def test_provider_without_key_is_not_offered() -> None:
    settings = load_settings(_env_file=None, wavespeed_api_key="ws-live-1")
    assert list(settings.provider_configs()) == [ProviderName.WAVESPEED]


def test_guild_ids_are_comma_separated() -> None:
    settings = load_settings(_env_file=None, discord_guild_ids="123, 456")
    assert settings.discord_guild_ids == [123, 456]


@pytest.mark.parametrize(
    "value", ["your-api-key", "<token>", "changeme", "xxxx", "PLACEHOLDER-KEY"]
)
def test_placeholder_secrets_are_refused_without_echoing_them(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None, runcomfy_api_key=value)
    assert "RUNCOMFY_API_KEY" in str(caught.value)
    assert value not in str(caught.value)


def test_bad_values_are_named_without_their_values() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None, discord_guild_ids="12,abc", poll_interval="-1")
    text = str(caught.value)
    assert "DISCORD_GUILD_IDS" in text
    assert "POLL_INTERVAL" in text
    assert "abc" not in text


def test_reads_dotenv_file(
    tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tmp_path / ".env"  # type: ignore[operator]
    env.write_text("RUNCOMFY_API_KEY=rc-live-key\nDOWNLOAD_MAX_MB=5\n")
    monkeypatch.delenv("RUNCOMFY_API_KEY", raising=False)
    settings = load_settings(_env_file=env)
    assert settings.runcomfy_api_key is not None
    assert settings.runcomfy_api_key.get_secret_value() == "rc-live-key"
    assert "rc-live-key" not in repr(settings)
    assert settings.download_max_bytes == 5 * 1024 * 1024


def test_env_example_lists_every_setting_and_loads() -> None:
    from pathlib import Path

    from bot.core.settings import Settings

    example = Path(__file__).resolve().parents[3] / ".env.example"
    keys = {
        line.split("=", 1)[0]
        for line in example.read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert keys == {name.upper() for name in Settings.model_fields}
    settings = load_settings(_env_file=example)
    assert settings.discord_token is None and settings.provider_configs() == {}
