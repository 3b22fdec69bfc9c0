"""Dates and times as callers say them, read in the business's zone against an injected clock."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from agent_service.scheduling.when import DateProblem, WhenAsked, understand_when
from tests.scheduling.conftest import LONDON, NEW_YORK

# Monday the 30th of November 2026, 9:15 am in Brighton.
NOW = datetime(2026, 11, 30, 9, 15, tzinfo=LONDON)


def asked(text: str, now: datetime = NOW) -> WhenAsked:
    result = understand_when(text, now)
    assert isinstance(result, WhenAsked), (text, result)
    return result


@pytest.mark.parametrize(
    ("text", "day", "at"),
    [
        ("tomorrow at ten", date(2026, 12, 1), time(10)),
        ("Tomorrow at 10.", date(2026, 12, 1), time(10)),
        ("the third of December at half two", date(2026, 12, 3), time(14, 30)),
        ("December 8th at 10:30 a.m.", date(2026, 12, 8), time(10, 30)),
        ("at quarter to eleven on Thursday", date(2026, 12, 3), time(10, 45)),
        ("twenty past two next Monday", date(2026, 12, 7), time(14, 20)),
        ("ten thirty on Friday", date(2026, 12, 4), time(10, 30)),
        ("at noon on Friday", date(2026, 12, 4), time(12)),
        ("half past nine the day after tomorrow", date(2026, 12, 2), time(9, 30)),
        ("on the 2nd at 3pm", date(2026, 12, 2), time(15)),
        ("Tuesday the 8th of December at 10 am", date(2026, 12, 8), time(10)),
        ("2027-01-05 at 9", date(2027, 1, 5), time(9)),
    ],
)
def test_a_day_and_a_time_are_understood(text: str, day: date, at: time) -> None:
    result = asked(text)
    assert (result.first_day, result.last_day, result.at) == (day, day, at)


@pytest.mark.parametrize(
    ("text", "first", "last", "window"),
    [
        ("next Tuesday afternoon", date(2026, 12, 1), date(2026, 12, 1), (time(12), time(17))),
        ("any time Friday", date(2026, 12, 4), date(2026, 12, 4), (None, None)),
        ("Wednesday morning", date(2026, 12, 2), date(2026, 12, 2), (time(0), time(12))),
        ("after 3 on Wednesday", date(2026, 12, 2), date(2026, 12, 2), (time(15), time(23, 59))),
        ("before 11 tomorrow", date(2026, 12, 1), date(2026, 12, 1), (time(0), time(11))),
        ("next week", date(2026, 12, 7), date(2026, 12, 13), (None, None)),
        ("this weekend", date(2026, 12, 5), date(2026, 12, 6), (None, None)),
        ("sometime in January", date(2027, 1, 1), date(2027, 1, 31), (None, None)),
        ("Monday", date(2026, 11, 30), date(2026, 11, 30), (None, None)),
        ("next Monday", date(2026, 12, 7), date(2026, 12, 7), (None, None)),
        ("Tuesday week", date(2026, 12, 8), date(2026, 12, 8), (None, None)),
    ],
)
def test_a_day_or_a_part_of_it_is_a_range_to_search(
    text: str, first: date, last: date, window: tuple[time | None, time | None]
) -> None:
    result = asked(text)
    assert (result.first_day, result.last_day, (result.earliest, result.latest)) == (first, last, window)
    assert result.at is None


def test_a_time_without_a_day_is_the_soonest_day_it_fits() -> None:
    result = asked("have you got anything at 4?")
    assert result.any_day and result.first_day == NOW.date() and result.at == time(16)


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("at 9", time(9)),
        ("at 2", time(14)),
        ("at 12", time(12)),
        ("at 8 pm", time(20)),
        ("at 14:30", time(14, 30)),
    ],
)
def test_a_bare_hour_is_read_as_a_receptionist_would(text: str, at: time) -> None:
    assert asked(f"Friday {text}").at == at


def test_the_afternoon_makes_a_bare_hour_pm() -> None:
    assert asked("Friday afternoon at 12:30").at == time(12, 30)
    assert asked("tomorrow evening at 6").at == time(18)


@pytest.mark.parametrize(
    ("text", "kind", "words"),
    [
        ("the 31st of November", "nonexistent", "There's no 31st of November."),
        ("February the 30th", "nonexistent", "There's no 30th of February."),
        ("the 29th of February", "nonexistent", "There's no 29th of February in 2027."),
        ("yesterday at 10", "past", "already gone"),
        ("last Friday", "past", "already gone"),
        ("8 December 2025", "past", "already gone"),
        ("today at 7am", "past", "already passed"),
        ("Friday at 25:00", "no_such_time", "isn't a time"),
    ],
)
def test_a_date_that_cannot_be_booked_is_said_plainly(text: str, kind: str, words: str) -> None:
    result = understand_when(text, NOW)
    assert isinstance(result, DateProblem) and result.kind == kind, result
    assert words in result.sentence


@pytest.mark.parametrize("text", ["Hello there", "do you treat children?", "just a second", "my name is Jo"])
def test_words_with_no_day_or_time_are_not_a_date(text: str) -> None:
    assert understand_when(text, NOW) is None


def test_a_time_in_the_spring_forward_gap_does_not_exist() -> None:
    # Europe/London: on Sunday the 28th of March 2027 the clocks go from 1 am to 2 am.
    result = understand_when("the 28th of March at 1:30 am", datetime(2027, 3, 1, 9, tzinfo=LONDON))
    assert isinstance(result, DateProblem) and result.kind == "no_such_time"
    assert "clocks go forward" in result.sentence
    assert isinstance(
        understand_when("the 28th of March at 2:30 am", datetime(2027, 3, 1, tzinfo=LONDON)), WhenAsked
    )


def test_the_day_is_the_business_day_not_the_utc_day() -> None:
    # 11:30 pm on Sunday the 1st of November 2026 in New York is already Monday in UTC.
    late = datetime(2026, 11, 1, 23, 30, tzinfo=NEW_YORK)
    assert asked("tomorrow", late).first_day == date(2026, 11, 2)
