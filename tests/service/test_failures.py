"""A failure while handling one message: nothing half-written, a plain apology, next
message handled normally, no traceback to the resident."""

from __future__ import annotations

from bot.channels.base import Inbound
from bot.engine import EnglishPhrases, Env
from bot.service import ConversationService
from tests.conftest import Harness


class BrokenYes(EnglishPhrases):
    """Phrases whose "Yes" fails, standing in for any bug met while handling a message."""

    def text(self, language: str, message: str, /, **params: object) -> str:
        if message == "Yes":
            raise RuntimeError("catalog broken")
        return super().text(language, message, **params)


async def test_a_failing_message_is_rolled_back_and_answered_with_an_apology(
    harness: Harness,
) -> None:
    app = harness.app
    env = Env(BrokenYes(), app.service.env.languages)
    service = ConversationService(app.database, app.service.flows, env, app.settings, harness.clock)
    await harness.send("hello")  # the welcome's language menu, through the working service
    await service.receive(Inbound("sms", "+447700900001", "1", "m-broken"))
    await app.dispatcher.drain()
    assert harness.sent[-1].text == "Sorry, something went wrong. Please try again later."
    [inbound] = await harness.rows("SELECT handled_at, error FROM inbound WHERE text = '1'")
    assert inbound["error"] == "RuntimeError"
    assert inbound["handled_at"] is not None
    # Nothing of the failed turn was written: no answer, the session still on its question.
    assert await harness.rows("SELECT * FROM answers") == []
    [session] = await harness.rows("SELECT status, state FROM sessions")
    assert session["status"] == "active"
    assert '"step":"language"' in session["state"]
    # The next message, with the bug gone, is handled normally.
    [reply] = await harness.send("1")
    assert "Is that OK?" in reply
