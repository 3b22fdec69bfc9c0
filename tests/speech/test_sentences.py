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


def test_a_long_first_sentence_goes_out_in_two_pieces_cut_at_a_comma() -> None:
    splitter = SentenceSplitter(first_clause=True)
    text = "We're open Monday to Friday from 8:30 am to 6 pm, and Saturday from 9 am to 1 pm. "
    assert splitter.push(text + "We're closed on Sundays, and on bank holidays too, as it happens. ") == [
        "We're open Monday to Friday from 8:30 am to 6 pm,",
        "and Saturday from 9 am to 1 pm.",
        "We're closed on Sundays, and on bank holidays too, as it happens.",  # only the first
    ]


def test_a_short_first_sentence_or_one_without_a_comma_is_kept_whole() -> None:
    for text in ("Yes, we take new patients.", "We open every weekday from half past eight until six pm."):
        splitter = SentenceSplitter(first_clause=True)
        assert splitter.push(text + " ") + splitter.flush() == [text]
    splitter = SentenceSplitter(first_clause=True)  # nor is a comma that leaves too little on one side
    long = "Sure, we are open every weekday from half past eight until six in the evening."
    assert splitter.push(long) + splitter.flush() == [long]
