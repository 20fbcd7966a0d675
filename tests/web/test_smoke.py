"""First look: signing in, the dashboard, composing and sending a poll."""

from __future__ import annotations

from tests.conftest import Harness
from tests.web.conftest import Browser


async def test_dashboard(organiser: Browser) -> None:
    page = await organiser.get("/admin/")
    assert page.status_code == 200, page.text
    assert "Dashboard" in page.text


async def test_compose_a_poll(organiser: Browser, web: Harness) -> None:
    page = await organiser.get("/admin/broadcasts/new?kind=poll")
    assert page.status_code == 200, page.text
    once = page.text.split('name="once" value="')[1].split('"')[0]
    answer = await organiser.post(
        "/admin/broadcasts/new",
        {
            "kind": "poll",
            "once": once,
            "question": "Which day?",
            "option1": "Monday",
            "option2": "Friday",
            "seed": "0",
        },
    )
    assert answer.status_code == 303, answer.text
    draft = await organiser.get(answer.headers["location"])
    assert draft.status_code == 200, draft.text
    assert "Preview" in draft.text
    sent = await organiser.post(answer.headers["location"] + "/send")
    assert sent.status_code == 303
    shown = await organiser.get("/admin/polls/1")
    assert shown.status_code == 200, shown.text
