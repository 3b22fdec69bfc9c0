"""The agent's composition root: settings in, every long-lived part built once and handed down.

`build_agent` runs once at start-up (server.serve). It is the only place that builds the brain, the
speech registry and the pipeline, so LLM_PROVIDER=local loads its model once and calls, Chat and
Synthesize share one brain and one voice. No module keeps any of them in a global.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from agent_service.brain.base import Brain
from agent_service.brain.booking import BookingBrain
from agent_service.brain.booking_tools import appointment_tools
from agent_service.brain.llm import ChatModel
from agent_service.brain.registry import brain_with, build_model
from agent_service.brain.tool_registry import ToolRegistry
from agent_service.brain.tools import call_tools
from agent_service.calendar import Appointments, Calendar, build_calendar, business_knowledge
from agent_service.chat import ChatMemory
from agent_service.knowledge import Knowledge, load_knowledge
from agent_service.knowledge_versions import KnowledgeVersions
from agent_service.pipelines.base import (
    CallInfo,
    CallPipeline,
    Outlet,
    PipelineOptions,
    PipelineSpec,
    Taught,
)
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
    # The knowledge versions requests carry (the console's edits); None: requests' knowledge is ignored.
    versions: KnowledgeVersions | None = None


class Teacher:
    """What depends on the knowledge, built per version around what is built once per process: the LLM
    (loaded on the start-up knowledge) and the calendar (opened on first need)."""

    def __init__(self, settings: AgentSettings, model: ChatModel | None) -> None:
        self._settings = settings
        self._model = model
        self._calendar: Calendar | None = None

    def teach(self, knowledge: Knowledge, version: int = 0) -> tuple[Taught, Appointments | None]:
        knowledge = business_knowledge(self._settings, knowledge)
        appointments = None
        if knowledge.opening is not None:
            if self._calendar is None:
                self._calendar = build_calendar(self._settings, knowledge.opening.zone)
            appointments = Appointments(self._calendar, knowledge)
        # What an LLM brain may do, one group of tools per module; a new group (appointments) is added here.
        tools = ToolRegistry(call_tools(knowledge))
        if appointments is not None:
            tools.add(*appointment_tools(appointments))
        brain = brain_with(self._settings, knowledge, tools, self._model)
        if appointments is not None:  # the booking dialogue answers appointment turns before any brain
            brain = BookingBrain(brain, appointments)
        greeting = self._settings.greeting or knowledge.greeting
        return Taught(version, brain, greeting), appointments

    def taught(self, knowledge: Knowledge, version: int) -> Taught:
        return self.teach(knowledge, version)[0]


def build_agent(settings: AgentSettings) -> Agent:
    """Build every part from `settings`. Raises ModelLoadError when the brain's local model is missing or
    unverified; speech models load later (warm-up or first use), so a broken voice never stops start-up."""
    knowledge = load_knowledge(settings.knowledge_file)
    model = build_model(settings, knowledge, ToolRegistry(call_tools(knowledge)))
    teacher = Teacher(settings, model)
    taught, appointments = teacher.teach(knowledge)
    # The ears are primed with the start-up knowledge's words; a later version's new words are not hinted.
    hints = hints_for(knowledge, settings.stt_hints)
    speech = SpeechRegistry(SpeechConfig.from_settings(settings, hints))
    agent = assemble(settings, taught.brain, speech, greeting=taught.greeting, appointments=appointments)
    return dataclasses.replace(agent, versions=KnowledgeVersions(teacher.taught))


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
        end_of_turn_model=settings.turns.end_of_turn != "silence",
        complete_threshold=settings.turns.end_of_turn_threshold,
        complete_hangover_ms=settings.turns.complete_hangover_ms,
        incomplete_hangover_ms=settings.turns.incomplete_hangover_ms,
    )
    return ConversationConfig(
        greeting=greeting,
        no_input_ms=round(settings.no_input_s * 1000),
        turns=turns,
        speculative_stt=settings.turns.speculative_stt and settings.turns.pause_ms > 0,
        end_of_turn=settings.turns.end_of_turn,
        tts_cache_sentences=settings.turns.tts_cache_sentences,
    )
