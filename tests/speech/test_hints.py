"""The business's own words for the ears: built once from the knowledge file, handed to Whisper."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from agent_service.composition import build_agent
from agent_service.knowledge import DEMO_KNOWLEDGE_FILE, Service, load_knowledge
from agent_service.settings import AgentSettings, SettingsError
from agent_service.speech.hints import MAX_CHARS, SpeechHints, hints_for, phrases
from agent_service.speech.registry import SpeechConfig


def test_the_hints_name_the_business_its_services_staff_street_and_town() -> None:
    words = phrases(load_knowledge(DEMO_KNOWLEDGE_FILE))
    for expected in (
        "Bright Smile Dental Clinic",
        "teeth whitening",
        "scale and polish",
        "Dr. Sarah Patel",
        "Dr. Tom Evans",
        "Anna",
        "Harbour Street",
        "Brighton",
        "toothache",
        "parking",
    ):
        assert expected in words
    # Sentence openers and weekdays are capitalised but are not names worth a hint.
    assert not {"Yes", "We", "Our", "Monday", "Please"} & set(words)
    assert len({w.lower() for w in words}) == len(words)


def test_hotwords_and_prompt_carry_the_same_words_and_off_carries_none() -> None:
    k = load_knowledge(DEMO_KNOWLEDGE_FILE)
    hotwords, prompt = hints_for(k, "hotwords"), hints_for(k, "prompt")
    assert hotwords.prompt == "" and "teeth whitening" in hotwords.hotwords
    assert prompt.hotwords == "" and hotwords.hotwords in prompt.prompt
    assert hints_for(k, "off") == SpeechHints() and SpeechHints().empty


def test_a_large_knowledge_file_gives_hints_whisper_does_not_cut() -> None:
    k = load_knowledge(DEMO_KNOWLEDGE_FILE)
    big = replace(k, services=tuple(Service(f"treatment number {i}", "10 pounds") for i in range(200)))
    assert len(hints_for(big, "hotwords").hotwords) <= MAX_CHARS


def test_the_owner_can_add_words_callers_use(tmp_path: Path) -> None:
    path = tmp_path / "business.yaml"
    text = DEMO_KNOWLEDGE_FILE.read_text(encoding="utf-8")
    owners = text.replace("vocabulary:\n", "vocabulary:\n  - Siobhan\n  - Invisalign\n")
    path.write_text(owners, encoding="utf-8")
    k = load_knowledge(path)
    assert k.vocabulary[:2] == ("Siobhan", "Invisalign")
    assert "Siobhan" in hints_for(k, "hotwords").hotwords


def test_the_mode_is_a_setting_and_a_wrong_one_names_the_variable() -> None:
    assert AgentSettings.from_env({}).stt_hints == "prompt"
    assert AgentSettings.from_env({"STT_HINTS": "off"}).stt_hints == "off"
    with pytest.raises(SettingsError, match="STT_HINTS"):
        AgentSettings.from_env({"STT_HINTS": "loud"})


def test_the_composition_root_hands_the_hints_to_the_speech_config() -> None:
    hints = hints_for(load_knowledge(DEMO_KNOWLEDGE_FILE), "hotwords")
    config = SpeechConfig.from_settings(AgentSettings(), hints)
    assert config.stt_hints == hints
    assert SpeechConfig.from_settings(AgentSettings()).stt_hints.empty


def test_the_agent_is_built_with_its_knowledge_files_words_in_its_ears(tmp_path: Path) -> None:
    path = tmp_path / "business.yaml"
    text = DEMO_KNOWLEDGE_FILE.read_text(encoding="utf-8")
    path.write_text(text.replace("vocabulary:\n", "vocabulary:\n  - Siobhan\n"), encoding="utf-8")
    env = {"KNOWLEDGE_FILE": str(path), "AGENT_DATA_DIR": str(tmp_path), "AGENT_WARM_UP": "false"}
    agent = build_agent(AgentSettings.from_env(env))
    assert "Siobhan" in agent.speech.config.stt_hints.prompt
    off = build_agent(AgentSettings.from_env({**env, "STT_HINTS": "off"}))
    assert off.speech.config.stt_hints.empty
