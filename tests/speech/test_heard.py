from __future__ import annotations

from agent_service.speech.heard import HeardTracker, truncate_words

FIRST = "We're open Monday to Friday from 8:30 am to 6 pm."
SECOND = "On Saturday we're open from 9 am to 1 pm."


def two_sentences() -> HeardTracker:
    heard = HeardTracker()
    heard.sent("a-end", FIRST, duration_ms=3000, at_ms=1000)
    heard.sent("b-end", SECOND, duration_ms=2000, at_ms=1100)
    return heard


def test_nothing_was_heard_before_playback_reached_the_caller() -> None:
    assert two_sentences().heard_text(1000) == ""


def test_a_played_mark_makes_its_whole_sentence_heard() -> None:
    heard = two_sentences()
    heard.played("a-end", at_ms=4000)
    assert heard.heard_text(4000) == FIRST


def test_the_sentence_playing_at_the_barge_in_is_cut_by_the_playback_clock() -> None:
    heard = two_sentences()
    heard.played("a-end", at_ms=4000)
    # Half of the second sentence had played (1000 of 2000 ms after the first one ended).
    assert heard.heard_text(5000) == FIRST + " " + truncate_words(SECOND, 0.5) + "…"
    assert truncate_words(SECOND, 0.5) == "On Saturday we're"


def test_the_first_sentence_is_cut_from_when_it_was_sent() -> None:
    heard = two_sentences()
    assert heard.heard_text(2500) == truncate_words(FIRST, 0.5) + "…"


def test_a_mark_that_was_never_played_counts_for_nothing() -> None:
    heard = two_sentences()
    # A CLEARED mark is not reported to the tracker at all: only `played` makes text heard.
    assert not heard.all_played
    assert heard.heard_text(1500).startswith("We're") and FIRST not in heard.heard_text(1500)


def test_truncation_keeps_whole_words_only() -> None:
    assert truncate_words("alpha beta gamma", 0.4) == "alpha"
    assert truncate_words("alpha beta gamma", 0.0) == ""
    assert truncate_words("alpha beta gamma", 1.5) == "alpha beta gamma"
