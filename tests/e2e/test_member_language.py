"""A member reads their private answers in their own language: the locale their Discord client
sends with each interaction (`interaction.locale`). French and Japanese are translated; any
other locale (here Brazilian Portuguese) gets English. The texts asserted are the ones Discord
received, through the real discord.py client and the fake Discord."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.core.jobs.models import JobState
from tests.e2e.harness import ADMIN, CHANNEL, GUILD, MEMBER, OTHER_CHANNEL, World, png, world
from tests.fakediscord import FakeInteraction

NBSP = "\u00a0"  # French puts a no-break space before ; : ! ? and inside « »


@dataclass(frozen=True)
class Expected:
    """What a member whose client speaks `locale` reads, word for word."""

    locale: str
    wrong_channel: str
    on_its_way: str  # the confirmation, up to the status message's link
    quota_used: str  # the refusal once the quota is spent, up to the timestamps
    small_image: str
    quota_lines: tuple[str, ...]  # /quota's first three lines
    jobs_title: str
    delivered: str
    seconds: str  # a 10-second clip in /jobs
    cost: str  # what it cost, in /jobs
    open_link: str
    forget: str


FRENCH = Expected(
    locale="fr",
    wrong_channel=f"On ne peut pas créer de vidéos dans ce salon. Utilisez <#{OTHER_CHANNEL}>.",
    on_its_way=f"Votre vidéo est en route{NBSP}: https://discord.com/channels/",
    quota_used=(
        "Vous avez utilisé 2 de vos 2 unités vidéo pour l'instant, et celle-ci en demande 2. "
        "Vous pourrez la créer <t:"
    ),
    small_image=(f"L'image fait 100×100 px{NBSP}; son plus petit côté doit faire au moins 320 px."),
    quota_lines=(
        f"**Utilisé{NBSP}:** 2 sur 2 unités ces dernières 24 h (**il en reste 0**).",
        "Un clip de 5 secondes coûte 1, un clip de 10 secondes 2.",
        f"**En cours{NBSP}:** 0 sur 2 au plus à la fois.",
    ),
    jobs_title="Vos vidéos récentes",
    delivered="✅ livrée",
    seconds="10 s",
    cost="2 unités",
    open_link="[ouvrir](https://discord.com/channels/",
    forget=(
        f"Prompts effacés de mes registres, journal d'audit compris{NBSP}: "
        "1 demande de vidéo terminée."
    ),
)

JAPANESE = Expected(
    locale="ja",
    wrong_channel=f"このチャンネルでは動画を作成できません。<#{OTHER_CHANNEL}> を使ってください。",
    on_its_way="動画を作成中です：https://discord.com/channels/",
    quota_used="現在、動画ユニット 2 のうち 2 を使用済みで、この動画には 2 必要です。<t:",
    small_image="画像は 100×100 px です。短い辺を 320 px 以上にしてください。",
    quota_lines=(
        "**使用済み：** 直近 24 時間で 2 ユニット中 2（**残り 0**）。",
        "5 秒のクリップは 1、10 秒のクリップは 2 ユニットです。",
        "**進行中：** 0（同時に最大 2 件）。",
    ),
    jobs_title="最近の動画",
    delivered="✅ 完了",
    seconds="10 秒",
    cost="2 ユニット",
    open_link="[開く](https://discord.com/channels/",
    forget="完了した動画リクエスト 1 件のプロンプトを、監査ログを含む記録から消去しました。",
)

ENGLISH = Expected(
    locale="pt-BR",
    wrong_channel=f"Videos can't be made in this channel. Use <#{OTHER_CHANNEL}>.",
    on_its_way="Your video is on its way: https://discord.com/channels/",
    quota_used=(
        "You've used 2 of your 2 video units for now and this one needs 2. You can make it <t:"
    ),
    small_image="The image is 100×100 px; its shortest side must be at least 320 px.",
    quota_lines=(
        "**Used:** 2 of 2 units in the last 24 h (**0 left**).",
        "A 5-second clip costs 1, a 10-second clip 2.",
        "**In progress:** 0 of at most 2 at a time.",
    ),
    jobs_title="Your recent videos",
    delivered="✅ delivered",
    seconds="10 s",
    cost="2 units",
    open_link="[open](https://discord.com/channels/",
    forget="Erased the prompts of your 1 finished video request from my records",
)


async def command(
    w: World, name: str, locale: str, channel: int = OTHER_CHANNEL, **kwargs: Any
) -> FakeInteraction:
    return await w.fake.invoke(
        name, guild_id=GUILD, channel_id=channel, user_id=MEMBER, locale=locale, **kwargs
    )


async def video(w: World, prompt: str, locale: str, channel: int = OTHER_CHANNEL) -> str:
    options = [
        {"name": "prompt", "type": 3, "value": prompt},
        {"name": "provider", "type": 3, "value": "runcomfy"},
        {"name": "duration", "type": 4, "value": 10},
    ]
    return await w.reply(await command(w, "video", locale, channel, options=options))


@pytest.mark.parametrize("expected", [FRENCH, JAPANESE, ENGLISH], ids=lambda e: e.locale)
async def test_a_member_reads_refusals_quota_and_jobs_in_their_language(
    tmp_path: Path, expected: Expected
) -> None:
    async with world(tmp_path, quota_limit=2) as w:
        await w.start_bot()
        await w.admin("channels", "allow", channel=OTHER_CHANNEL)
        # a server rule's refusal
        assert await video(w, "a boat", expected.locale, channel=CHANNEL) == expected.wrong_channel
        # an image problem, found before anything is charged
        attachment = w.fake.add_attachment(
            png(100, 100), filename="p.png", content_type="image/png"
        )
        small = await command(
            w,
            "animate",
            expected.locale,
            options=[
                {"name": "image", "type": 11, "value": attachment["id"]},
                {"name": "prompt", "type": 3, "value": "make it move"},
            ],
            attachments=[attachment],
        )
        assert await w.reply(small) == expected.small_image
        # the confirmation; the prompt itself is never translated
        assert (await video(w, "Un chat 猫 sous la pluie", expected.locale)).startswith(
            expected.on_its_way
        )
        # the quota refusal, with Discord timestamps each client shows in its own language
        refused = await video(w, "two", expected.locale)
        assert refused.startswith(expected.quota_used)
        assert re.search(r"<t:\d+:R>.*<t:\d+:t>", refused)
        assert w.charged() == 2 and len(w.jobs()) == 1
        await w.wait_for_state(JobState.DELIVERED)

        quota = (await w.reply(await command(w, "quota", expected.locale))).split("\n")
        assert tuple(quota[:3]) == expected.quota_lines
        assert "<t:" in quota[3]

        jobs = await command(w, "jobs", expected.locale)
        await w.fake.wait_for(lambda: bool(jobs.original and jobs.original.embeds))
        assert jobs.original is not None and jobs.original.ephemeral
        [embed] = jobs.original.embeds
        assert embed["title"] == expected.jobs_title
        [entry] = embed["fields"]
        assert entry["name"] == expected.delivered
        prompt_line, details = entry["value"].split("\n")
        assert prompt_line == "Un chat 猫 sous la pluie"
        shown = f" · RunComfy · {expected.seconds} · {expected.cost} · {expected.open_link}"
        assert shown in details

        forget = await w.reply(await command(w, "forget", expected.locale))
        assert forget.startswith(expected.forget)


@dataclass(frozen=True)
class AdminExpected:
    locale: str
    not_a_manager: str
    review_channel_first: str
    budget_set: str
    settings_title: str
    budget_line: str
    language: tuple[str, str]  # /reelbot settings: the public posts' language, name and value
    audit_title: str
    audit_setting: str  # how /reelbot audit shows a settings change


ADMIN_ANSWERS = [
    AdminExpected(
        locale="fr",
        not_a_manager=(
            "Seuls les membres ayant la permission Gérer le serveur peuvent modifier les "
            "réglages de Reelbot."
        ),
        review_channel_first=(
            f"Définissez d'abord un salon de modération{NBSP}: /reelbot review channel."
        ),
        budget_set=f"Budget quotidien{NBSP}: 40 unités.",
        settings_title="Réglages de Reelbot",
        budget_line=f"Budget du serveur{NBSP}: 0/40 unités aujourd'hui",
        language=("Langue", f"Messages publics{NBSP}: anglais (la langue du serveur)"),
        audit_title="Journal d'audit (plus récentes d'abord)",
        audit_setting="⚙️ **réglages**",
    ),
    AdminExpected(
        locale="ja",
        not_a_manager="Reelbot の設定を変更できるのは「サーバー管理」権限を持つメンバーだけです。",
        review_channel_first="先に審査チャンネルを設定してください：/reelbot review channel",
        budget_set="1 日の予算：40 ユニット。",
        settings_title="Reelbot の設定",
        budget_line="サーバーの予算：本日 0/40 ユニット",
        language=("言語", "公開投稿：英語（サーバーの言語）"),
        audit_title="監査ログ（新しい順）",
        audit_setting="⚙️ **設定**",
    ),
    AdminExpected(
        locale="es-ES",
        not_a_manager=(
            "Only members with the Manage Server permission can change Reelbot's settings."
        ),
        review_channel_first="Set a review channel first: /reelbot review channel.",
        budget_set="Daily budget: 40 units.",
        settings_title="Reelbot settings",
        budget_line="Server budget: 0/40 units today",
        language=("Language", "Public posts: English (the server's language)"),
        audit_title="Audit log (newest first)",
        audit_setting="⚙️ **settings**",
    ),
]


async def reelbot(
    w: World, locale: str, *path: str, user: int = ADMIN, **options: Any
) -> FakeInteraction:
    types = {"units": 4, "policy": 3}
    opts = [{"name": k, "type": types[k], "value": v} for k, v in options.items()]
    interaction = await w.fake.invoke(
        "reelbot",
        opts,
        guild_id=GUILD,
        channel_id=CHANNEL,
        user_id=user,
        subcommand=list(path),
        locale=locale,
    )
    await w.fake.wait_for(
        lambda: (
            interaction.original is not None
            and not interaction.original.loading
            and bool(interaction.original.content or interaction.original.embeds)
        )
    )
    assert interaction.original is not None and interaction.original.ephemeral
    return interaction


@pytest.mark.parametrize("expected", ADMIN_ANSWERS, ids=lambda e: e.locale)
async def test_reelbot_answers_speak_the_admins_language(
    tmp_path: Path, expected: AdminExpected
) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()

        def content(interaction: FakeInteraction) -> str:
            assert interaction.original is not None
            return interaction.original.content or ""

        refused = await reelbot(w, expected.locale, "settings", user=MEMBER)
        assert content(refused) == expected.not_a_manager
        misconfigured = await reelbot(w, expected.locale, "nsfw-policy", policy="review")
        assert content(misconfigured) == expected.review_channel_first
        budget = await reelbot(w, expected.locale, "budget", units=40)
        assert content(budget) == expected.budget_set

        settings = await reelbot(w, expected.locale, "settings")
        assert settings.original is not None
        [embed] = settings.original.embeds
        assert embed["title"] == expected.settings_title
        assert expected.budget_line in [
            line for field in embed["fields"] for line in field["value"].split("\n")
        ]
        # the language public posts go out in (the server's own here), named in the admin's
        assert (embed["fields"][-1]["name"], embed["fields"][-1]["value"]) == expected.language

        audit = await reelbot(w, expected.locale, "audit")
        assert audit.original is not None
        [logged] = audit.original.embeds
        assert logged["title"] == expected.audit_title
        assert logged["description"].startswith(expected.audit_setting)
