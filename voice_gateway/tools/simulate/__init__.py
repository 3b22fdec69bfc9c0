"""A Twilio stand-in: place a simulated call against a running gateway (library and CLI)."""

from voice_gateway.tools.simulate.call import simulate_call
from voice_gateway.tools.simulate.options import CallOptions, CallReport, SimulationError
from voice_gateway.tools.simulate.playout import Playout
from voice_gateway.tools.simulate.twiml_check import StreamInstructions, TwimlError, parse_connect_stream

__all__ = [
    "CallOptions",
    "CallReport",
    "Playout",
    "SimulationError",
    "StreamInstructions",
    "TwimlError",
    "parse_connect_stream",
    "simulate_call",
]
