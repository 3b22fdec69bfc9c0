"""The `conversation` pipeline: the caller talks to the brain. VAD → STT → brain → TTS, with turn-taking
and barge-in on the media clock.

Per call: a TurnTaker turns VAD probabilities into turns; each user turn runs as one cancellable task
(STT, the brain's stream cut into sentences, TTS per sentence, audio out with a Mark per sentence), so the
first sentence plays while the rest is generated. A barge-in clears playback, cancels that task and keeps
in the history only what the caller heard (PLAYED marks and the playback clock; CLEARED marks never count).

- `calls.py` opens a call: checks what this pipeline can serve and binds the process's shared parts;
- `pipeline.py` is the caller's side: audio → VAD → turns, barge-in, DTMF and the silence timers;
- `replies.py` is the agent's side: one reply at a time, and what the caller heard of it;
- `actions.py` turns the brain's actions into messages for the gateway.
"""

from __future__ import annotations

from agent_service.pipelines.conversation.calls import ConversationCalls
from agent_service.pipelines.conversation.config import ConversationConfig
from agent_service.pipelines.conversation.pipeline import ConversationPipeline

__all__ = ["ConversationCalls", "ConversationConfig", "ConversationPipeline"]
