from __future__ import annotations

from decimal import Decimal

import pytest

from bot.core.settings import SettingsError, load_settings
from providers import ProviderName


def test_provider_without_key_is_not_offered() -> None:
    settings = load_settings(_env_file=None, wavespeed_api_key="ws-live-1")
    assert list(settings.provider_configs()) == [ProviderName.WAVESPEED]


def test_provider_keys_prices_and_urls_are_checked_alike() -> None:
    settings = load_settings(
        _env_file=None,
        runcomfy_api_key="  rc-live-1 ",
        wavespeed_api_key="",
        runcomfy_price_per_unit="0.25",
        wavespeed_price_per_unit=" ",
        wavespeed_base_url="http://127.0.0.1:8080/",
    )
    assert settings.runcomfy_api_key is not None
    assert settings.runcomfy_api_key.get_secret_value() == "rc-live-1"
    assert settings.wavespeed_api_key is None
    assert settings.runcomfy_price_per_unit == Decimal("0.25")
    assert settings.wavespeed_price_per_unit is None
    assert settings.wavespeed_base_url == "http://127.0.0.1:8080"
    with pytest.raises(SettingsError) as caught:
        load_settings(
            _env_file=None, wavespeed_price_per_unit="-1", runcomfy_base_url="model-api.runcomfy"
        )
    assert "WAVESPEED_PRICE_PER_UNIT" in str(caught.value)
    assert "RUNCOMFY_BASE_URL" in str(caught.value)


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


def test_shards_unset_mean_every_shard_in_this_process() -> None:
    settings = load_settings(_env_file=None)
    assert settings.discord_shard_count is None and settings.discord_shard_ids is None
    assert settings.syncs_commands


def test_shard_ids_are_comma_separated_and_only_shard_zero_syncs() -> None:
    first = load_settings(_env_file=None, discord_shard_count="4", discord_shard_ids="0, 2")
    assert (first.discord_shard_count, first.discord_shard_ids) == (4, [0, 2])
    assert first.syncs_commands
    other = load_settings(_env_file=None, discord_shard_count="4", discord_shard_ids="1,3")
    assert other.discord_shard_ids == [1, 3]
    assert not other.syncs_commands


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"discord_shard_ids": "0,1"}, "DISCORD_SHARD_IDS: Value error, needs DISCORD_SHARD_COUNT"),
        (
            {"discord_shard_count": "2", "discord_shard_ids": "1,2,5"},
            "DISCORD_SHARD_IDS: Value error, shard 2, 5 does not exist: with "
            "DISCORD_SHARD_COUNT=2 the shards are 0 to 1",
        ),
        ({"discord_shard_count": "2", "discord_shard_ids": "0,-1"}, "comma-separated shard"),
        ({"discord_shard_count": "2", "discord_shard_ids": "one"}, "comma-separated shard"),
        ({"discord_shard_count": "2", "discord_shard_ids": " , "}, "comma-separated shard"),
        ({"discord_shard_count": "3", "discord_shard_ids": "1,1"}, "lists a shard twice"),
        ({"discord_shard_count": "0"}, "DISCORD_SHARD_COUNT: Input should be greater than"),
    ],
)
def test_bad_shard_settings_are_refused_with_what_to_fix(
    values: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None, **values)
    assert message in str(caught.value)
