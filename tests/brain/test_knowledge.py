"""The knowledge file: the demo loads; a malformed file is refused naming the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_service.knowledge import DEMO_KNOWLEDGE_FILE, KnowledgeError, load_knowledge
from agent_service.settings import AgentSettings, SettingsError

VALID = DEMO_KNOWLEDGE_FILE.read_text(encoding="utf-8")


def test_the_demo_business_has_every_required_fact() -> None:
    k = load_knowledge(DEMO_KNOWLEDGE_FILE)
    assert k.name == "Bright Smile Dental Clinic"
    assert k.transfer_number.startswith("+")
    assert k.closed_on and k.not_offered and k.services and len(k.faqs) >= 5
    assert any("42 Harbour Street" in line for line in k.facts())


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "key", "problem", "line_with"),
    [
        (
            'transfer_number: "+441273000111"',
            "transfer_number: call us",
            "transfer_number",
            "E.164",
            "call us",
        ),
        ("closed_on:\n  - Sunday\n  - bank holidays", "closed_on: Sunday", "closed_on", "list", "closed_on:"),
        (
            "  - question: Is there parking?",
            "  - questoin: Is there parking?",
            "faqs.questoin",
            "unknown",
            "questoin",
        ),
        (
            "name: Bright",
            "opening_times: 9 to 5\nname: Bright",
            "opening_times",
            "unknown key",
            "opening_times",
        ),
        ("hours: We're open", "hours:\n  - We're open", "hours", "non-empty text", "  - We're open"),
    ],
)
def test_a_malformed_file_names_the_line_and_the_key(
    tmp_path: Path, old: str, new: str, key: str, problem: str, line_with: str
) -> None:
    assert old in VALID
    text = VALID.replace(old, new)
    path = tmp_path / "business.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeError) as raised:
        load_knowledge(path)
    message = str(raised.value)
    assert message.startswith(f"{path}:{_line_of(text, line_with)}: key {key!r}: ")
    assert problem in message


def test_a_missing_required_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "business.yaml"
    path.write_text(
        "\n".join(line for line in VALID.splitlines() if not line.startswith("address:")), encoding="utf-8"
    )
    with pytest.raises(KnowledgeError, match="key 'address': is required"):
        load_knowledge(path)


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "business.yaml"
    path.write_text("name: A\nhours: [unclosed\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match=r"business.yaml:\d+: not valid YAML"):
        load_knowledge(path)


def test_a_bad_knowledge_file_stops_start_up_with_one_line_naming_the_variable(tmp_path: Path) -> None:
    path = tmp_path / "business.yaml"
    path.write_text(
        VALID.replace('transfer_number: "+441273000111"', "transfer_number: nope"), encoding="utf-8"
    )
    with pytest.raises(SettingsError) as raised:
        AgentSettings.from_env({"KNOWLEDGE_FILE": str(path)})
    message = str(raised.value)
    assert message.startswith(f"KNOWLEDGE_FILE={str(path)!r}: {path}:{_line_of(VALID, 'transfer_number')}:")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("name", "value"),
    [("LLM_PROVIDER", "gpt"), ("LOCAL_LLM", "llama"), ("LLM_BASE_URL", "ftp://x"), ("BRAIN_CONFIDENCE", "2")],
)
def test_bad_brain_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{name}="):
        AgentSettings.from_env({name: value})
