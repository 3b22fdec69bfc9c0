"""The agent's composition root: settings in, every long-lived part built once and handed down.

`build_agent` runs once at start-up (server.serve). It is the only place that builds the brain, the
speech registry and the pipeline, so LLM_PROVIDER=local loads its model once and calls, Chat and
Synthesize share one brain and one voice. No module keeps any of them in a global.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent_service.brain.base import Brain
from agent_service.brain.booking import BookingBrain
from agent_service.brain.booking_tools import appointment_tools
from agent_service.brain.registry import build_brain
from agent_service.brain.tool_registry import ToolRegistry
from agent_service.brain.tools import call_tools
from agent_service.calendar import Appointments, build_appointments
from agent_service.chat import ChatMemory
from agent_service.knowledge import load_knowledge
from agent_service.pipelines.base import CallInfo, CallPipeline, Outlet, PipelineOptions, PipelineSpec
from agent_service.pipelines.conversation import ConversationCalls, ConversationConfig
from agent_service.pipelines.conversation.resumption import CallHistories
from agent_service.pipelines.echo import EchoPipeline
from agent_service.settings import AgentSettings
from agent_service.speech.hints import hints_for
from agent_service.speech.registry import SpeechConfig, SpeechRegistry
from agent_service.speech.turns import TurnPolicy
from agent_service.synthesis import Synthesizer


@dataclass(frozen=True, slots=True)
class Agent:
    """What the servicer serves with."""

    settings: AgentSettings
    brain: Brain
    pipeline: PipelineSpec
    chat_memory: ChatMemory
    synthesizer: Synthesizer
    speech: SpeechRegistry
    appointments: Appointments | None = None  # None: the knowledge file has no opening_hours


def build_agent(settings: AgentSettings) -> Agent:
    """Build every part from `settings`. Raises ModelLoadError when the brain's local model is missing or
    unverified; speech models load later (warm-up or first use), so a broken voice never stops start-up."""
    knowledge = load_knowledge(settings.knowledge_file)
    appointments = build_appointments(settings, knowledge)
    # What an LLM brain may do, one group of tools per module; a new group (appointments) is added here.
    tools = ToolRegistry(call_tools(knowledge))
    if appointments is not None:
        tools.add(*appointment_tools(appointments))
    brain = build_brain(settings, knowledge, tools)
    if appointments is not None:  # the booking dialogue answers appointment turns before any brain
        brain = BookingBrain(brain, appointments)
    hints = hints_for(knowledge, settings.stt_hints)
    speech = SpeechRegistry(SpeechConfig.from_settings(settings, hints))
    greeting = settings.greeting or knowledge.greeting
    return assemble(settings, brain, speech, greeting=greeting, appointments=appointments)


def assemble(
    settings: AgentSettings,
    brain: Brain,
    speech: SpeechRegistry,
    *,
    greeting: str,
    appointments: Appointments | None = None,
) -> Agent:
    """Wire already-built parts together (tests hand in their own brain or speech providers here)."""
    chat_memory = ChatMemory(
        settings.data_dir / "conversations.sqlite3",
        settings.chat_history_turns,
        settings.chat_max_conversations,
    )
    return Agent(
        settings=settings,
        brain=brain,
        pipeline=build_pipeline(settings, brain, speech, greeting),
        chat_memory=chat_memory,
        synthesizer=Synthesizer(speech, greeting),
        speech=speech,
        appointments=appointments,
    )


def build_pipeline(
    settings: AgentSettings, brain: Brain, speech: SpeechRegistry, greeting: str
) -> PipelineSpec:
    if settings.pipeline == "echo":
        options = PipelineOptions(echo_utterance_ms=settings.echo_utterance_ms)

        def open_echo(info: CallInfo, outlet: Outlet) -> CallPipeline:
            return EchoPipeline(info, outlet, options)

        return PipelineSpec(name="echo", open_call=open_echo)
    if settings.pipeline == "conversation":
        # As many ended calls kept for a resume as can be live at once.
        histories = CallHistories(max_ended=settings.max_calls)
        calls = ConversationCalls(conversation_config(settings, greeting), speech, brain, histories)
        return PipelineSpec(name="conversation", open_call=calls.open_call, warm_up=calls.warm_up)
    raise ValueError(f"unknown pipeline {settings.pipeline!r}")  # settings only lets known names through


def conversation_config(settings: AgentSettings, greeting: str) -> ConversationConfig:
    turns = TurnPolicy(
        speech_threshold=settings.vad_threshold,
        silence_threshold=max(0.0, settings.vad_threshold - 0.15),
        min_speech_ms=settings.min_speech_ms,
        hangover_ms=settings.hangover_ms,
        barge_in_ms=settings.barge_in_ms,
        pause_ms=settings.turns.pause_ms,
        end_of_turn_model=settings.turns.end_of_turn == "smart-turn",
        complete_threshold=settings.turns.end_of_turn_threshold,
        complete_hangover_ms=settings.turns.complete_hangover_ms,
        incomplete_hangover_ms=settings.turns.incomplete_hangover_ms,
    )
    return ConversationConfig(
        greeting=greeting,
        no_input_ms=round(settings.no_input_s * 1000),
        turns=turns,
        speculative_stt=settings.turns.speculative_stt and settings.turns.pause_ms > 0,
    )
