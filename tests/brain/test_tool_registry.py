"""The tool registry and its schema checks, without a model: what the model is offered is valid JSON
Schema, the agent's own validator agrees with a reference implementation on what it accepts, a schema
rule the validator would not enforce is refused at start-up, and a tool added by another group
(appointments) is offered and run like the call tools."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import jsonschema_rs
import pytest
from prometheus_client import REGISTRY

from agent_service.brain.events import Conversation, Lookup, TextDelta, Turn
from agent_service.brain.receptionist import ReceptionistBrain
from agent_service.brain.tool_registry import (
    ToolCall,
    ToolContext,
    ToolRefused,
    ToolRegistry,
    ToolResult,
    ToolSpec,
)
from agent_service.brain.tool_schema import SchemaError, arguments, check_schema, string, validate
from agent_service.brain.tools import call_tools
from agent_service.knowledge import Knowledge

CALLER = "+447700900123"


def _context(knowledge: Knowledge, *texts: str) -> ToolContext:
    turns = tuple(Turn("user", text) for text in texts) or (Turn("user", "hello"),)
    conversation = Conversation("c1", turns, channel="voice", caller=CALLER)
    return ToolContext(conversation, ReceptionistBrain(knowledge).assess)


def _calls(name: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "agentlocator_agent_llm_tool_calls_total", {"tool": name, "status": status}
    )
    return value or 0.0


def test_every_call_tool_is_offered_as_valid_json_schema(knowledge: Knowledge) -> None:
    registry = ToolRegistry(call_tools(knowledge))
    assert registry.names == ("take_message", "transfer_call", "end_call", "send_whatsapp", "lookup")
    for definition in registry.definitions():
        assert definition["type"] == "function"
        assert jsonschema_rs.meta.is_valid(definition["function"]["parameters"]), definition


ARGUMENT_SAMPLES: list[Any] = [
    {"caller_name": "Jo Bloggs", "reason": "moving my check-up"},
    {"caller_name": "Jo", "reason": "x", "callback_number": "+44 7700 900123"},
    {"caller_name": "Jo", "reason": "x", "callback_number": "(020) 7946-0018"},
    {"caller_name": "Jo", "reason": "x", "callback_number": "call me"},
    {"caller_name": "Jo", "reason": "x", "callback_number": "12"},
    {"caller_name": "", "reason": "x"},
    {"caller_name": "J" * 101, "reason": "x"},
    {"caller_name": "Jo"},
    {"caller_name": "Jo", "reason": 5},
    {"caller_name": True, "reason": "x"},
    {"caller_name": "Jo", "reason": "x", "number": "+447700900123"},
    [],
    "Jo",
    None,
]


@pytest.mark.parametrize("sample", ARGUMENT_SAMPLES, ids=lambda s: json.dumps(s)[:40])
def test_the_validator_agrees_with_a_reference_json_schema_implementation(
    knowledge: Knowledge, sample: Any
) -> None:
    schema = ToolRegistry(call_tools(knowledge)).definitions()[0]["function"]["parameters"]
    reference = jsonschema_rs.validator_for(schema).is_valid(sample)
    assert (validate(schema, sample) is None) is reference


def test_errors_name_the_argument_and_the_rule() -> None:
    schema = arguments(
        ("name",), name=string("n", max_length=5), n={"type": "integer", "minimum": 1, "maximum": 3}
    )
    assert validate(schema, {}) == "name is required"
    assert validate(schema, {"name": "Joanna"}) == "name is 6 characters; at most 5"
    assert validate(schema, {"name": "Jo", "n": 4}) == "n must be at most 3"
    assert validate(schema, {"name": "Jo", "n": True}) == "n must be an integer"
    assert validate(schema, {"name": "Jo", "x": 1}) == "unexpected argument 'x' (this takes: name, n)"


@pytest.mark.parametrize(
    ("schema", "complaint"),
    [
        ({"type": "object", "properties": {}}, "additionalProperties: false"),
        ({**arguments(), "oneOf": []}, "does not enforce: ['oneOf']"),
        (arguments(when={"type": "string", "format": "date-time"}), "does not enforce: ['format']"),
        (arguments(when={"type": "date"}), "type must be one of"),
    ],
)
def test_a_schema_rule_the_validator_would_not_enforce_is_refused_at_registration(
    schema: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(SchemaError, match=complaint.replace("[", r"\[").replace("]", r"\]")):
        check_schema(schema)


async def _noop(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    return ToolResult("done")


def test_a_tool_name_is_registered_once(knowledge: Knowledge) -> None:
    registry = ToolRegistry(call_tools(knowledge))
    with pytest.raises(ValueError, match="already registered"):
        registry.add(ToolSpec("lookup", "again", arguments(), _noop))
    with pytest.raises(ValueError, match="invalid"):
        registry.add(ToolSpec("look up", "a space", arguments(), _noop))


async def test_another_group_of_tools_is_offered_and_run_like_the_call_tools(knowledge: Knowledge) -> None:
    seen: list[dict[str, Any]] = []

    async def find_slots(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        seen.append(args)
        if args["day"] == "sunday":
            raise ToolRefused("closed on Sundays: offer another day")
        return ToolResult("Tuesday 14:00 is free")

    day = {"type": "string", "description": "the day", "enum": ["tuesday", "sunday"]}
    booking = [ToolSpec("find_slots", "Free appointment times.", arguments(("day",), day=day), find_slots)]
    registry = ToolRegistry(call_tools(knowledge), booking)
    assert registry.definitions()[-1]["function"]["name"] == "find_slots"
    ok = await registry.execute(ToolCall("find_slots", '{"day": "tuesday"}', "c1"), _context(knowledge))
    refused = await registry.execute(ToolCall("find_slots", '{"day": "sunday"}', "c2"), _context(knowledge))
    invalid = await registry.execute(ToolCall("find_slots", '{"day": "monday"}', "c3"), _context(knowledge))
    assert (ok.status, json.loads(ok.content)) == ("ok", {"ok": True, "result": "Tuesday 14:00 is free"})
    assert (refused.status, json.loads(refused.content)["error"]) == (
        "refused",
        "closed on Sundays: offer another day",
    )
    assert invalid.status == "invalid" and "must be one of" in json.loads(invalid.content)["error"]
    assert seen == [{"day": "tuesday"}, {"day": "sunday"}]  # the invalid call never reached the tool


async def test_a_tool_that_fails_gives_the_model_an_error_not_the_caller_a_dead_call(
    knowledge: Knowledge, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        raise ConnectionError("calendar database unreachable")

    registry = ToolRegistry([ToolSpec("book", "Book.", arguments(), broken)])
    before = _calls("book", "failed")
    outcome = await registry.execute(ToolCall("book", "{}", "c1"), _context(knowledge))
    assert outcome.status == "failed" and "offer to take a message" in outcome.content
    assert "LLM_TOOL_FAILED tool=book" in caplog.text
    assert _calls("book", "failed") == before + 1


@pytest.mark.parametrize(
    ("arguments_text", "error"),
    [
        ("{", "arguments are not JSON"),
        ("[1, 2]", "arguments must be a JSON object"),
        ('{"reason": "' + "x" * 5000 + '"}', "at most 4096"),
    ],
)
async def test_arguments_that_are_not_a_bounded_json_object_are_invalid(
    knowledge: Knowledge, arguments_text: str, error: str
) -> None:
    registry = ToolRegistry(call_tools(knowledge))
    outcome = await registry.execute(ToolCall("end_call", arguments_text, "c1"), _context(knowledge))
    assert outcome.status == "invalid" and error in json.loads(outcome.content)["error"]


async def test_an_unknown_tool_is_counted_under_one_label_whatever_its_name(knowledge: Knowledge) -> None:
    registry = ToolRegistry(call_tools(knowledge))
    before = _calls("unknown", "unknown")
    for name in ("launch_rockets", "x" * 500, "drop table"):
        outcome = await registry.execute(ToolCall(name, "{}", "c1"), _context(knowledge))
        assert outcome.status == "unknown" and "the tools are: take_message" in outcome.content
    assert _calls("unknown", "unknown") == before + 3
    assert _calls("x" * 500, "unknown") == 0.0


@pytest.mark.parametrize(
    ("callback_number", "said", "expected"),
    [
        ("+44 7700 900123", (), "+447700900123"),  # the caller ID, however written
        ("07700 900123", (), "+447700900123"),
        (
            "+44 20 7946 0018",
            ("call me back on oh two oh, seven nine four six, double oh one eight",),
            "+44 20 7946 0018",
        ),
        ("020 7946 0018", ("my number is 020 7946 0018",), "020 7946 0018"),
    ],
)
async def test_a_callback_number_is_the_caller_id_or_one_the_caller_said(
    knowledge: Knowledge, callback_number: str, said: tuple[str, ...], expected: str
) -> None:
    registry = ToolRegistry(call_tools(knowledge))
    args = json.dumps({"caller_name": "Jo", "reason": "a refund", "callback_number": callback_number})
    outcome = await registry.execute(ToolCall("take_message", args, "c1"), _context(knowledge, *said))
    assert outcome.ok, outcome.content
    assert outcome.events[0].number == expected  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("callback_number", "said"),
    [
        ("+44 20 7946 0018", ("please call me back",)),  # never said: invented
        ("+44 20 7946 0019", ("my number is 020 7946 0018",)),  # one digit off
        ("+44 7946 0018", ("my number is 020 7946 0018",)),  # digits dropped
        ("0123", ("my number is 0123",)),  # too short to be a phone number
    ],
)
async def test_a_callback_number_the_caller_never_gave_is_refused(
    knowledge: Knowledge, callback_number: str, said: tuple[str, ...]
) -> None:
    registry = ToolRegistry(call_tools(knowledge))
    args = json.dumps({"caller_name": "Jo", "reason": "a refund", "callback_number": callback_number})
    outcome = await registry.execute(ToolCall("take_message", args, "c1"), _context(knowledge, *said))
    assert outcome.status in ("refused", "invalid") and outcome.events == ()


async def test_with_no_transfer_number_in_the_knowledge_a_transfer_is_refused(knowledge: Knowledge) -> None:
    registry = ToolRegistry(call_tools(dataclasses.replace(knowledge, transfer_number="")))
    outcome = await registry.execute(
        ToolCall("transfer_call", '{"reason": "billing"}', "c1"), _context(knowledge)
    )
    assert outcome.status == "refused" and "offer to take a message" in outcome.content
    assert outcome.events == ()


async def test_a_lookup_answers_from_the_knowledge_and_never_acts(knowledge: Knowledge) -> None:
    registry = ToolRegistry(call_tools(knowledge))
    hours = await registry.execute(
        ToolCall("lookup", '{"query": "when are you open"}', "c1"), _context(knowledge)
    )
    assert hours.answered and hours.events[-1] == TextDelta(knowledge.hours)
    person = await registry.execute(
        ToolCall("lookup", '{"query": "put me through to a person"}', "c2"), _context(knowledge)
    )
    assert all(isinstance(e, Lookup | TextDelta) for e in person.events), person.events
