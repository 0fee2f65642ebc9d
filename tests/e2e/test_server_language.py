"""Public posts speak the server's language, end to end through the fake Discord: the status
and result messages, their buttons, the review channel's messages and the audit channel's
posts, in the language an admin chose with /reelbot language, else the server's
`preferred_locale`. A job keeps its language, so a process that starts later (and never
saw the interaction) still posts in it. Prompts are shown as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.jobs.models import Job, JobState
from tests.e2e.harness import (
    AUDIT_CHANNEL,
    CHANNEL,
    GUILD,
    MEMBER,
    MODERATOR,
    REVIEW_CHANNEL,
    World,
    world,
)
from tests.fakediscord import FakeInteraction, FakeMessage
from tests.providersim import JobScript


async def video(w: World, prompt: str, *, locale: str = "en-US") -> FakeInteraction:
    """/video from a member whose client speaks `locale`."""
    options = [
        {"name": "prompt", "type": 3, "value": prompt},
        {"name": "provider", "type": 3, "value": "runcomfy"},
    ]
    return await w.fake.invoke(
        "video", options, guild_id=GUILD, channel_id=CHANNEL, user_id=MEMBER, locale=locale
    )


def status_of(w: World, job: Job) -> FakeMessage:
    [status] = [m for m in w.channel_posts() if m.id == job.status_message_id]
    return status


def labels(message: FakeMessage) -> list[str]:
    return [str(c["label"]) for c in message.all_components() if c.get("type") == 2]


def fields(message: FakeMessage) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message.embeds[0].get("fields") or []}


def job_of(w: World, prompt: str) -> Job:
    [job] = [j for j in w.jobs() if j.prompt == prompt]
    return job


def has_job(w: World, prompt: str) -> bool:
    return any(j.prompt == prompt for j in w.jobs())


async def queued(w: World, prompt: str, words: str) -> FakeMessage:
    """The job's status message, once it shows `words`."""
    await w.fake.wait_for(
        lambda: has_job(w, prompt) and job_of(w, prompt).state is JobState.SUBMITTED, timeout=15
    )
    status = status_of(w, job_of(w, prompt))
    await w.fake.wait_for(lambda: words in status.text(), timeout=15)
    return status


@pytest.mark.parametrize("restart", [False, True], ids=["live", "after-restart"])
async def test_a_japanese_server_gets_japanese_status_and_result_messages(
    tmp_path: Path, restart: bool
) -> None:
    async with world(tmp_path) as w:
        w.fake.guilds[GUILD].locale = "ja"
        await w.start_bot()
        w.runcomfy.script(JobScript(queue_seconds=1e6))
        assert "on its way" in await w.reply(await video(w, "a red fox *in the snow*"))

        status = await queued(w, "a red fox *in the snow*", "🕒 RunComfy の待ち行列")
        assert status.embeds[0]["title"] == "テキストから動画"
        assert list(fields(status)) == ["依頼者", "オプション", "状態"]
        assert fields(status)["オプション"].startswith("RunComfy · 5 秒 · ")
        assert status.embeds[0]["footer"]["text"].startswith("ジョブ ")
        assert labels(status) == ["キャンセル"]
        # the prompt as the member wrote it, only escaped for markdown
        assert status.embeds[0]["description"] == "a red fox \\*in the snow\\*"

        if restart:
            await w.stop_bot()
            # The new process cannot learn the language from the server any more: only the
            # job remembers it.
            w.fake.guilds[GUILD].locale = "en-US"
            await w.start_bot()
        w.runcomfy.advance(1e6)
        [result] = await w.wait_for_results(1)
        assert result.content == f"<@{MEMBER}> 動画ができあがりました。"
        assert result.embeds[0]["title"] == "あなたの動画"
        shown = fields(result)
        assert list(shown) == [
            "プロバイダー",
            "長さ",
            "解像度",
            "アスペクト比",
            "シード",
            "生成時間",
            "コスト",
        ]
        assert shown["長さ"] == "5 秒"
        assert labels(result) == ["作り直す", "編集", "延長", "削除"]
        await w.fake.wait_for(lambda: "✅ 完了: 動画はこの下に投稿されています。" in status.text())
        assert "Done" not in status.text() and "Queued" not in status.text()


async def test_an_admin_chooses_french_for_new_jobs_and_default_follows_the_server(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w:
        w.fake.guilds[GUILD].locale = "ja"
        await w.start_bot()
        w.runcomfy.script(*[JobScript(queue_seconds=1e6)] * 3)  # all three wait in line
        await w.reply(await video(w, "before"))
        await queued(w, "before", "RunComfy の待ち行列")

        # the admin's own answer is in the admin's language (English here)
        assert await w.admin("language", language="fr") == "New jobs will post in French."
        await w.reply(await video(w, "after"))
        after = await queued(w, "after", "🕒 En file d'attente chez RunComfy")
        assert after.embeds[0]["title"] == "Du texte à la vidéo"
        assert list(fields(after)) == ["Demandé par", "Paramètres", "Statut"]
        assert labels(after) == ["Annuler"]
        # a job keeps the language it started with
        before = status_of(w, job_of(w, "before"))
        assert before.embeds[0]["title"] == "テキストから動画" and labels(before) == ["キャンセル"]

        w.runcomfy.advance(1e6)  # both finish: a member may have two jobs at a time
        first, second = await w.wait_for_results(2)
        assert {labels(first)[0], labels(second)[0]} == {"作り直す", "Relancer"}
        answer = await w.admin("language", language="default")
        assert answer == "New jobs will post in the server's language, now Japanese."
        assert "on its way" in await w.reply(await video(w, "later"))
        later = await queued(w, "later", "RunComfy の待ち行列")
        assert labels(later) == ["キャンセル"]
        assert [j.guild_locale for j in w.jobs()] == ["ja", "fr", "ja"]


async def test_a_server_in_a_language_we_do_not_speak_gets_english(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        w.fake.guilds[GUILD].locale = "de"
        await w.start_bot()
        await w.reply(await video(w, "ein Fuchs", locale="fr"))
        [result] = await w.wait_for_results(1)
        assert result.content == f"<@{MEMBER}> your video is ready."
        assert result.embeds[0]["title"] == "Your video"
        assert labels(result) == ["Re-roll", "Edit", "Extend", "Delete"]
        status = status_of(w, job_of(w, "ein Fuchs"))
        await w.fake.wait_for(lambda: "✅ Done: the video is posted below." in status.text())
        assert status.embeds[0]["title"] == "Text to video"


async def test_review_and_audit_channel_posts_speak_the_servers_language(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.admin("language", language="fr")
        await w.admin("audit-channel", channel=AUDIT_CHANNEL)
        await w.admin("review", "channel", channel=REVIEW_CHANNEL)
        await w.admin("review", "approval", enabled=True, channel=CHANNEL)
        await w.reply(await video(w, "à vérifier", locale="ja"))
        await w.fake.wait_for(lambda: len(w.channel_posts(REVIEW_CHANNEL)) == 1)
        [review] = w.channel_posts(REVIEW_CHANNEL)
        assert review.embeds[0]["title"] == "Demande à examiner"
        assert list(fields(review)) == ["Demandé par", "Salon", "Paramètres", "Coût"]
        assert fields(review)["Coût"] == "1 unité"
        assert labels(review) == ["Approuver", "Rejeter"]

        # the modal speaks the language of the moderator who opens it
        [reject] = [c for c in review.custom_ids() if c.startswith("reelbot:reject:")]
        click = await w.fake.click(review, reject, user_id=MODERATOR, locale="ja")
        await w.fake.wait_for(lambda: click.modal is not None)
        assert click.modal is not None and click.modal["title"] == "このリクエストを却下"
        [row] = click.modal["components"]
        [field] = row["components"]
        assert (field["label"], field["placeholder"]) == (
            "理由 (メンバーに表示されます)",
            "任意: 承認しない理由",
        )
        submitted = await w.fake.submit_modal(click, {"reelbot-reject-reason": "trop flou"})
        await w.reply(submitted)
        await w.fake.wait_for(lambda: "Décision" in fields(review))
        assert fields(review)["Décision"] == f"🚫 Rejetée par <@{MODERATOR}> : trop flou"

        # the member, who never saw a public post, is told privately in their own language
        dm = int(w.fake.dm_channel_for(MEMBER)["id"])
        await w.fake.wait_for(lambda: len(w.fake.channel_messages(dm)) == 1)
        [told] = w.fake.channel_messages(dm)
        assert told.content == (
            f"<#{CHANNEL}> での動画リクエスト (「à vérifier」) は承認されませんでした: "
            "モデレーターが却下しました: trop flou。何も消費されていません。"
        )

        def audit_posts() -> str:
            return "\n".join(m.content or "" for m in w.channel_posts(AUDIT_CHANNEL))

        await w.fake.wait_for(lambda: "**rejeté**" in audit_posts(), timeout=15)
        posts = audit_posts()
        assert "**retenu pour examen**" in posts and f"par <@{MODERATOR}>" in posts
        assert "raison : rejetée par un modérateur : trop flou" in posts
        assert "> à vérifier" in posts


def button(message: FakeMessage, prefix: str) -> str:
    [custom_id] = [c for c in message.custom_ids() if c.startswith(prefix)]
    return custom_id


async def test_moderators_read_their_own_answers_in_their_own_language(tmp_path: Path) -> None:
    """The review messages speak the server's language (English here); what a moderator reads
    alone, answering their button, speaks theirs."""
    async with world(tmp_path) as w:
        await w.start_bot()
        await w.admin("review", "channel", channel=REVIEW_CHANNEL)
        await w.admin("review", "approval", enabled=True, channel=CHANNEL)
        await w.reply(await video(w, "first"))
        await w.reply(await video(w, "second"))
        await w.fake.wait_for(lambda: len(w.channel_posts(REVIEW_CHANNEL)) == 2)
        first, second = w.channel_posts(REVIEW_CHANNEL)
        assert labels(first) == ["Approve", "Reject"]

        denied = await w.fake.click(
            first, button(first, "reelbot:approve:"), user_id=MEMBER, locale="ja"
        )
        assert await w.reply(denied) == (
            "リクエストを審査できるのはモデレーター（「メッセージの管理」権限）だけです。"
        )
        approved = await w.fake.click(
            first, button(first, "reelbot:approve:"), user_id=MODERATOR, locale="fr"
        )
        assert await w.reply(approved) == "Approuvée\u00a0; la vidéo est en cours de création."

        reject = await w.fake.click(
            second, button(second, "reelbot:reject:"), user_id=MODERATOR, locale="ja"
        )
        await w.fake.wait_for(lambda: reject.modal is not None)
        submitted = await w.fake.submit_modal(
            reject, {"reelbot-reject-reason": "flou"}, locale="ja"
        )
        assert await w.reply(submitted) == "却下しました。メンバーに通知しました。"
        await w.fake.wait_for(lambda: "Decision" in fields(second))
        assert fields(second)["Decision"] == f"🚫 Rejected by <@{MODERATOR}>: flou"
