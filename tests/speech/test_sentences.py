from __future__ import annotations

from agent_service.speech.sentences import SentenceSplitter


def split(deltas: list[str]) -> list[list[str]]:
    splitter = SentenceSplitter()
    return [splitter.push(delta) for delta in deltas] + [splitter.flush()]


def test_a_sentence_is_released_as_soon_as_the_next_word_starts() -> None:
    assert split(["We're open Monday", " to Friday.", " We're", " closed Sundays."]) == [
        [],
        [],
        ["We're open Monday to Friday."],
        [],
        ["We're closed Sundays."],
    ]


def test_questions_and_exclamations_end_sentences() -> None:
    assert split(["Hello! How can I help? ", "Bye"]) == [["Hello!", "How can I help?"], [], ["Bye"]]


def test_times_prices_urls_and_titles_do_not_split_a_sentence() -> None:
    text = "Dr. Patel sees you at 8.30 am, e.g. on Monday. Book at brightsmile.example/book today. "
    assert split([text]) == [
        ["Dr. Patel sees you at 8.30 am, e.g. on Monday.", "Book at brightsmile.example/book today."],
        [],
    ]


def test_a_sentence_split_across_many_tiny_deltas_comes_out_once() -> None:
    text = "Yes, we take new patients. I can take your details."
    pieces = [text[i : i + 3] for i in range(0, len(text), 3)]
    out = [s for batch in split(pieces) for s in batch]
    assert out == ["Yes, we take new patients.", "I can take your details."]


def test_flush_returns_nothing_for_an_empty_or_blank_reply() -> None:
    assert split(["", "  "]) == [[], [], []]
