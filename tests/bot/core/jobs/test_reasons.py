"""A job's stored reason: written once in English (`stored`), read back in the reader's language
(`shown`) by any process, also for rows written before the reasons had one home; anyone
else's words are shown as written."""

from __future__ import annotations

import pytest

from bot.core.i18n import Wording
from bot.core.jobs import reasons


@pytest.mark.parametrize("reason", reasons.KNOWN, ids=lambda r: r.msgid[:40])
def test_every_reason_of_ours_is_recognised_and_translated(reason: Wording) -> None:
    values = {name: "RunComfy" for name in ("provider", "reason", "status", "minutes")}
    values["missing"] = reasons.stored(reasons.IMAGE_NOT_SAVED)
    text = reasons.stored(reason, **{k: v for k, v in values.items() if f"{{{k}}}" in reason.msgid})

    assert reasons.shown(None, text) == text  # English reads as it was stored
    assert reasons.shown("fr", text) != text
    assert reasons.shown("ja", text) != text


def test_rows_stored_before_keep_their_wording() -> None:
    """Texts exactly as earlier versions wrote them into `Job.error`."""
    assert reasons.shown("fr", "cancelled by a moderator") == "annulée par un modérateur"
    assert reasons.shown("ja", "no result after 60 minutes; an admin will check it") == (
        "60 分経っても結果がありません。管理者が確認します"
    )
    assert reasons.shown("fr", "this request could not be sent (its image was not saved)") == (
        "cette demande n'a pas pu être envoyée (son image n'a pas été enregistrée)"
    )


def test_a_providers_and_a_moderators_own_words_are_shown_as_written() -> None:
    assert reasons.shown("fr", "Wan 2.1 could not make this video: NSFW input") == (
        "Wan 2.1 n'a pas pu créer cette vidéo : NSFW input"
    )
    assert reasons.shown("ja", "rejected by a moderator: cancelled by a moderator") == (
        "モデレーターが却下しました: cancelled by a moderator"
    )
    assert reasons.shown("fr", "quota ran out upstream") == "quota ran out upstream"
