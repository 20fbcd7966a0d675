"""The dispatcher's pacing: even spacing at the configured rate, SMS paced by segments,
a pause when the provider asks, and Telegram's per-chat limit."""

from __future__ import annotations

import pytest

from bot.outreach.outbox import Lane, Pacer


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_calls_are_spaced_evenly_at_the_rate() -> None:
    ticks = Ticks()
    pacer = Pacer(4.0, ticks)
    waits = [pacer.delay() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])


def test_a_long_sms_costs_its_segments() -> None:
    ticks = Ticks()
    pacer = Pacer(1.0, ticks)
    assert pacer.delay(3) == 0.0
    assert pacer.delay(1) == pytest.approx(3.0)  # three segments bought three seconds


def test_idle_time_is_not_saved_up_for_a_burst() -> None:
    ticks = Ticks()
    pacer = Pacer(2.0, ticks)
    pacer.delay()
    ticks.now += 60
    assert [pacer.delay(), pacer.delay()] == pytest.approx([0.0, 0.5])


def test_a_pause_holds_everything_back() -> None:
    ticks = Ticks()
    pacer = Pacer(10.0, ticks)
    pacer.pause(2.0)  # Retry-After: 2
    assert pacer.delay() == pytest.approx(2.0)
    assert pacer.ready_in() == pytest.approx(2.1)


def test_one_chat_waits_while_others_go() -> None:
    lane = Lane("telegram", ("telegram",), 30.0, chat_rate=1.0)
    lane.chat_sent(7, now=10.0)
    assert lane.chat_wait(7, now=10.2) == pytest.approx(0.8)
    assert lane.chat_wait(8, now=10.2) == 0.0
    assert lane.chat_wait(7, now=11.0) == 0.0
