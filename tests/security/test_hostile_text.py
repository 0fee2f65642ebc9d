"""Hostile text: mentions and markdown in prompts and in moderators' reasons ping nobody and show
literally; odd, oversized and out-of-choice option values get a specific answer (or are
accepted), never the generic apology and never a charge for a refusal."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.jobs.models import JobState
from providers import ASPECT_RATIOS
from tests.e2e.harness import (
    ADMIN,
    AUDIT_CHANNEL,
    CHANNEL,
    GUILD,
    MEMBER,
    MODERATOR,
    OTHER_CHANNEL,
    OTHER_MEMBER,
    REVIEW_CHANNEL,
    ROLE,
)
from tests.fakediscord import FakeMessage
from tests.security._world import (
    GENERIC_APOLOGY,
    SecureWorld,
    ping_violations,
    secure_world,
    unescaped_markdown,
)

BIG_USER = 123456789012345678  # snowflake-sized, as on real Discord
BIG_ROLE = 223456789012345678

HOSTILE = (
    f"@everyone @here <@&{ROLE}> <@{OTHER_MEMBER}> <@!{OTHER_MEMBER}> <@{BIG_USER}> "
    f"<@&{BIG_ROLE}> **bold** __under__ ~~strike~~ ||spoiler|| `code` ```block``` "
    "\\*pre-escaped\\* [free nitro](https://evil.example/claim) <x:/[masked](https://e.x)>\n"
    "# Heading\n-# small print\n> quote\n- item"
)
# Raw markup that must never reach a public message or any embed un-neutralised.
MARKUP = (
    "**bold**",
    "__under__",
    "~~strike~~",
    "||spoiler||",
    "`code`",
    "[free nitro](",
    "\n# Heading",
    "\n-# small",
    "\n> quote",
    "\n- item",
)
REASON = (
    f"@everyone <@&{ROLE}> <@{OTHER_MEMBER}> **nope** ||hidden|| [appeal](https://evil.example)"
)
VIDEO_TYPES = {
    "prompt": 3,
    "provider": 3,
    "aspect_ratio": 3,
    "duration": 4,
    "resolution": 3,
    "seed": 4,
}


def embed_texts(message: FakeMessage) -> list[str]:
    texts: list[str] = []
    for embed in message.embeds:
        texts.append(str(embed.get("title") or ""))
        texts.append(str(embed.get("description") or ""))
        for fld in embed.get("fields") or []:
            texts.append(str(fld.get("value") or ""))
    return texts


def raw_markup(text: str) -> list[str]:
    """The MARKUP pieces present in `text` and not neutralised by a backslash."""
    found: list[str] = []
    for piece in MARKUP:
        start = text.find(piece)
        while start != -1:
            if start == 0 or text[start - 1] != "\\":
                found.append(piece)
                break
            start = text.find(piece, start + 1)
    for word in ("@everyone", "@here"):
        if word in text:
            found.append(word)
    return found


def requesters(w: SecureWorld) -> dict[int, int]:
    """Each posted result (known by its Re-roll button) and the one member it may ping."""
    owners = {j.id: j.user_id for j in w.jobs()}
    found: dict[int, int] = {}
    for message in w.fake.messages.values():
        for custom_id in message.custom_ids():
            if custom_id.startswith("reelbot:reroll:"):
                found[message.id] = owners[custom_id.removeprefix("reelbot:reroll:")]
    return found


def shown_after(text: str, marker: str) -> str:
    return text.split(marker, 1)[1] if marker in text else ""


async def test_mentions_and_markdown_in_prompts_and_reasons(tmp_path: Path) -> None:
    async with secure_world(tmp_path, quota_limit=50, max_jobs_per_member=10) as w:
        await w.start_bot()
        await w.admin("audit-channel", channel=AUDIT_CHANNEL)
        await w.admin("review", "channel", channel=REVIEW_CHANNEL)
        await w.admin("review", "approval", enabled=True, channel=OTHER_CHANNEL)
        blocked = await w.admin("members", "block", member=OTHER_MEMBER, reason=REASON)
        assert "can no longer make videos" in blocked

        # A prompt full of mentions and markdown, delivered.
        assert "on its way" in await w.reply(await w.video(HOSTILE, provider="runcomfy"))
        [result] = await w.wait_for_results(1)
        # The same prompt held for approval, then rejected with a hostile reason.
        held = await w.reply(await w.video(HOSTILE, channel=OTHER_CHANNEL, provider="runcomfy"))
        assert "waiting for a moderator's approval" in held
        await w.fake.wait_for(lambda: len(w.channel_posts(REVIEW_CHANNEL)) == 1)
        [review] = w.channel_posts(REVIEW_CHANNEL)
        [reject] = [c for c in review.custom_ids() if c.startswith("reelbot:reject:")]
        click = await w.fake.click(review, reject, user_id=MODERATOR)
        await w.fake.wait_for(lambda: click.modal is not None)
        submitted = await w.fake.submit_modal(click, {"reelbot-reject-reason": REASON})
        assert "Rejected" in await w.reply(submitted)
        await w.wait_for_state(JobState.REJECTED)
        # The blocked member sees the admin's reason; the filter quotes the prompt back.
        refusal = await w.reply(await w.video(HOSTILE, user=OTHER_MEMBER))
        assert refusal.startswith("You can't make videos on this server:")
        await w.admin("filter", "add-word", word="bold")
        assert "doesn't allow" in await w.reply(await w.video("**bold** @everyone <@&4300>"))
        # Everything that shows prompts and reasons again.
        jobs = await w.fake.invoke("jobs", [], guild_id=GUILD, channel_id=CHANNEL, user_id=MEMBER)
        await w.answer(jobs)
        await w.answer(await w.command("audit", user=ADMIN))
        await w.fake.wait_for(
            lambda: any("rejected" in (m.content or "") for m in w.channel_posts(AUDIT_CHANNEL)),
            timeout=10,
        )
        # A held request was never public: the member is told privately.
        assert w.statuses(channel=OTHER_CHANNEL) == []
        dm = int(w.fake.dm_channel_for(MEMBER)["id"])
        await w.fake.wait_for(
            lambda: any("not approved" in (m.content or "") for m in w.fake.channel_messages(dm))
        )
        await w.fake.wait_for(lambda: review.custom_ids() == [])

        assert [r for r in w.fake.requests if r.status is not None and r.status >= 400] == []
        # Nobody is pinged but the requester, on the result only.
        assert result.mentioned_user_ids == [MEMBER]
        assert ping_violations(w.fake, results={result.id: MEMBER}) == []

        # Public messages and every embed show the markup literally.
        problems: list[str] = []
        for message in w.fake.messages.values():
            texts = embed_texts(message)
            if not message.ephemeral:
                texts.append(message.content or "")
            for text in texts:
                if raw_markup(text):
                    problems.append(f"{message!r}: {raw_markup(text)} in {text[:80]!r}")
        assert problems == []
        # The prompt (result, review, the member's notice) and the reasons are escaped as a
        # whole.
        for message in (result, review):
            description = message.embeds[0]["description"]
            assert unescaped_markdown(description) == [], description
            assert "@\u200beveryone" in description
        [notice] = w.fake.channel_messages(dm)
        told = notice.content or ""
        assert "@\u200beveryone" in told and notice.mentioned_user_ids == []
        assert unescaped_markdown(shown_after(told, "rejected by a moderator: ")) == []
        decision = next(f["value"] for f in review.embeds[0]["fields"] if f["name"] == "Decision")
        assert "nope" in decision
        assert unescaped_markdown(shown_after(decision, ">: ")) == []
        for post in w.channel_posts(AUDIT_CHANNEL):
            for line in (post.content or "").split("\n"):
                if line.startswith(("> ", "reason: ")):
                    assert unescaped_markdown(line.split(" ", 1)[1]) == [], line


async def test_an_oversized_reject_reason_from_a_modified_client(tmp_path: Path) -> None:
    """The form allows 300 characters, but a modified client can send anything."""
    reason = ("**loud** @everyone <@&4300> \u202e\x00 " * 250)[:6000]
    async with secure_world(tmp_path) as w:
        await w.start_bot()
        await w.admin("review", "channel", channel=REVIEW_CHANNEL)
        await w.admin("review", "approval", enabled=True)
        assert "approval" in await w.reply(await w.video("please", provider="runcomfy"))
        await w.fake.wait_for(lambda: len(w.channel_posts(REVIEW_CHANNEL)) == 1)
        [review] = w.channel_posts(REVIEW_CHANNEL)
        [reject] = [c for c in review.custom_ids() if c.startswith("reelbot:reject:")]
        click = await w.fake.click(review, reject, user_id=MODERATOR)
        await w.fake.wait_for(lambda: click.modal is not None)
        submitted = await w.fake.submit_modal(click, {"reelbot-reject-reason": reason})
        assert "Rejected" in await w.reply(submitted)
        await w.wait_for_state(JobState.REJECTED)
        assert w.statuses() == []
        dm = int(w.fake.dm_channel_for(MEMBER)["id"])
        await w.fake.wait_for(lambda: len(w.fake.channel_messages(dm)) == 1)
        [notice] = w.fake.channel_messages(dm)
        await w.fake.wait_for(lambda: review.custom_ids() == [])
        refused = [r for r in w.fake.requests if r.status is not None and r.status >= 400]
        assert refused == []
        assert ping_violations(w.fake, results={}) == []
        assert raw_markup(notice.content or "") == [], notice.content
        for text in embed_texts(review):
            assert raw_markup(text) == [], text
        assert w.charged() == 0 and w.ledger() == []


@dataclass(frozen=True)
class Ask:
    """/video options as a (possibly modified) client sends them."""

    options: dict[str, Any]
    says: str | None = None  # a refusal must contain this; None: accepted or any refusal
    accepted: bool | None = None

    def payload(self) -> list[dict[str, Any]]:
        return [
            {"name": name, "type": VIDEO_TYPES[name], "value": value}
            for name, value in self.options.items()
        ]


LIMIT = "the limit is 800"
ASPECT = "aspect_ratio: Input should be"
RESOLUTION = "resolution: Input should be"
DURATION = "duration: Input should be 5 or 10"

EDGE_CASES = [
    Ask({"prompt": "a" * 800}, accepted=True),
    Ask({"prompt": "a" * 801}, LIMIT),
    Ask({"prompt": "🎬" * 800}, accepted=True),
    Ask({"prompt": "🎬" * 801}, LIMIT),
    Ask({"prompt": "e\u0301" * 400}, accepted=True),
    Ask({"prompt": "e\u0301" * 401}, LIMIT),
    Ask({"prompt": "\u202eevil \u202dtext\u200b\u200d\ufeff"}),
    Ask({"prompt": "Z̸̢͎̈́a̵̛l̶̢g̷̣o̴̙" * 50}),
    Ask({"prompt": "a\x00b"}),
    Ask({"prompt": "\x00"}),
    Ask({"prompt": ""}, "the prompt is empty"),
    Ask({"prompt": " \n\t\u3000 "}, "the prompt is empty"),
    Ask({"prompt": "x", "aspect_ratio": "2:1"}, ASPECT),
    Ask({"prompt": "x", "aspect_ratio": "16:9\u200b"}, ASPECT),
    Ask({"prompt": "x", "aspect_ratio": "\u202e9:61"}, ASPECT),
    Ask({"prompt": "x", "aspect_ratio": "16:9" * 300}, ASPECT),
    Ask({"prompt": "x", "aspect_ratio": "16\x00:9"}, ASPECT),
    Ask({"prompt": "x", "aspect_ratio": "9:21", "provider": "runcomfy"}, "choose WaveSpeed"),
    Ask({"prompt": "x", "duration": 7}, DURATION),
    Ask({"prompt": "x", "duration": 0}, DURATION),
    Ask({"prompt": "x", "duration": -5}, DURATION),
    Ask({"prompt": "x", "duration": 2**40}, DURATION),
    Ask({"prompt": "x", "resolution": "4K"}, RESOLUTION),
    Ask({"prompt": "x", "resolution": "1080p"}, RESOLUTION),
    Ask({"prompt": "x", "resolution": "1080P\u0301"}, RESOLUTION),
    Ask({"prompt": "x", "resolution": "🎬"}, RESOLUTION),
    Ask({"prompt": "x", "resolution": "720P", "provider": "runcomfy"}, "1080P videos only"),
    Ask({"prompt": "x", "seed": 2**40}, "seed: Input should be less than or equal to 2147483647"),
    Ask({"prompt": "x", "seed": -5}),  # any negative seed means "random"
    Ask({"prompt": "x", "seed": -(2**40)}),
    Ask({"prompt": "x", "seed": 2**31 - 1}, accepted=True),
]
PROVIDER_CASES = [
    Ask({"prompt": "x", "provider": "evil"}),
    Ask({"prompt": "x", "provider": "RunComfy"}),
    Ask({"prompt": "x", "provider": "runcomfy\u200b"}),
    Ask({"prompt": "x", "provider": "\u202eyfmocnur"}),
    Ask({"prompt": "x", "provider": "🎬" * 50}),
]


async def ask_all(w: SecureWorld, asks: list[Ask], *, first_user: int) -> list[str]:
    """Send every request as its own member; return what went wrong."""
    problems: list[str] = []
    for number, ask in enumerate(asks):
        user = first_user + number
        interaction = await w.video_as(user, ask.payload())
        reply = await w.answer(interaction)
        label = f"{ask.options!r:.80} -> {reply!r:.160}"
        cost = w.charged(user)
        mine = w.jobs_of(user)
        if GENERIC_APOLOGY in reply:
            problems.append(f"generic apology: {label}")
        elif "on its way" in reply:
            if ask.says is not None or ask.accepted is False:
                problems.append(f"accepted but should be refused: {label}")
            if len(mine) != 1 or cost != mine[0].cost or cost < 1:
                problems.append(f"accepted but charged {cost} for {len(mine)} job(s): {label}")
        else:
            if ask.accepted:
                problems.append(f"refused but should be accepted: {label}")
            if ask.says is not None and ask.says not in reply:
                problems.append(f"not the specific refusal ({ask.says!r}): {label}")
            if cost != 0 or mine:
                problems.append(f"refused but charged {cost} ({len(mine)} job(s)): {label}")
    return problems


async def test_edge_case_values_in_every_video_option(tmp_path: Path) -> None:
    async with secure_world(tmp_path, quota_limit=100, max_concurrent_jobs=4) as w:
        await w.start_bot()
        assert await ask_all(w, EDGE_CASES, first_user=10_000) == []
        assert ping_violations(w.fake, results=requesters(w)) == []


async def test_provider_values_outside_the_choices(tmp_path: Path) -> None:
    async with secure_world(tmp_path) as w:
        await w.start_bot()
        assert await ask_all(w, PROVIDER_CASES, first_user=11_000) == []


# --- fuzzing ---------------------------------------------------------------------------------

ODD = "\x00\t\n\u200b\u200d\u202e\u202d\ufeff\u0301\u3000@*_~|`>#[]()<&!:\\🎬é"
odd_text = st.text(alphabet=st.sampled_from(ODD), max_size=40)
prompts = st.one_of(
    st.text(max_size=820),
    st.text(alphabet=st.sampled_from(ODD + "ab "), min_size=790, max_size=810),
    odd_text,
)
strings_or_choices = {
    "aspect_ratio": st.one_of(st.sampled_from(ASPECT_RATIOS), st.text(max_size=12), odd_text),
    "resolution": st.one_of(st.sampled_from(["720P", "1080P"]), st.text(max_size=8), odd_text),
}
integers = {
    "duration": st.one_of(st.sampled_from([5, 10]), st.integers(-(2**53), 2**53)),
    "seed": st.one_of(st.integers(-1, 2**31 - 1), st.integers(-(2**53), 2**53)),
}


def fuzzed_asks(count: int) -> list[Ask]:
    """Collect `count` generated /video requests (a sync @given cannot drive the async
    world, so the examples are gathered first and sent through one running bot)."""
    collected: list[Ask] = []
    option = {**strings_or_choices, **integers}
    optional = {name: st.one_of(st.none(), strategy) for name, strategy in option.items()}
    optional["provider"] = st.one_of(st.none(), st.sampled_from(["runcomfy", "wavespeed"]))

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(prompt=prompts, **optional)
    def collect(prompt: str, **values: Any) -> None:
        options = {"prompt": prompt, **{k: v for k, v in values.items() if v is not None}}
        collected.append(Ask(options))

    collect()
    return collected


async def test_fuzzed_video_options(tmp_path: Path) -> None:
    asks = fuzzed_asks(40)
    assert len(asks) >= 30
    async with secure_world(tmp_path, quota_limit=100, max_concurrent_jobs=4) as w:
        await w.start_bot()
        assert await ask_all(w, asks, first_user=20_000) == []
        assert ping_violations(w.fake, results=requesters(w)) == []
