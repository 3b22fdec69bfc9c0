"""`python -m voice_gateway.tools.simulate --base http://127.0.0.1:8080 --wav in.wav --out reply.wav`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from voice_gateway.settings import auth_token_for_tools
from voice_gateway.tools.simulate import CallOptions, SimulationError, simulate_call
from voice_gateway.tools.simulate.twiml_check import TwimlError
from voice_gateway.wav import wav_to_mulaw, write_mulaw_wav


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m voice_gateway.tools.simulate",
        description="Call a running gateway the way Twilio would, with a WAV file as the caller's voice.",
    )
    parser.add_argument("--base", required=True, help="where the gateway listens, e.g. http://127.0.0.1:8080")
    parser.add_argument(
        "--wav", required=True, type=Path, help="the caller's audio (any rate; converted to 8 kHz µ-law)"
    )
    parser.add_argument(
        "--then",
        type=Path,
        action="append",
        default=[],
        metavar="WAV",
        help="the caller's next turn, said once the agent's answer has played (repeat for a dialogue)",
    )
    parser.add_argument("--out", type=Path, help="write what the caller heard to this WAV file")
    parser.add_argument(
        "--fast", action="store_true", help="send audio as fast as possible, not in real time"
    )
    parser.add_argument(
        "--public-url", help="the public URL Twilio would call (for signatures); default --base"
    )
    parser.add_argument("--subprotocol", help="offer this WebSocket subprotocol (real Twilio offers none)")
    parser.add_argument("--dtmf", default="", help="digits to press right after the stream starts")
    parser.add_argument(
        "--tail", type=float, default=3.0, help="hang up after this many quiet seconds (answers take 1-2 s)"
    )
    parser.add_argument("--interrupt-wav", type=Path, help="then talk over the agent's answer with this WAV")
    parser.add_argument(
        "--interrupt-after-ms", type=int, default=1000, help="...once this much of the answer has played"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print only the summary, not the conversation (AI mode)"
    )
    parser.add_argument(
        "--auth-token",
        default=auth_token_for_tools(),
        help="sign requests with this token (default: $TWILIO_AUTH_TOKEN)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    options = CallOptions(
        base_url=args.base,
        audio=wav_to_mulaw(args.wav),
        public_url=args.public_url,
        auth_token=args.auth_token,
        realtime=not args.fast,
        subprotocol=args.subprotocol,
        dtmf=args.dtmf,
        tail_s=args.tail,
        interrupt=wav_to_mulaw(args.interrupt_wav) if args.interrupt_wav else b"",
        interrupt_after_ms=args.interrupt_after_ms,
        replies=tuple(wav_to_mulaw(path) for path in args.then),
        keep_streaming=True,  # as Twilio does; --fast has no clock to stream on
        on_line=None if args.quiet else lambda line: print(line, flush=True),
    )
    try:
        report = asyncio.run(simulate_call(options))
    except (SimulationError, TwimlError, OSError) as exc:
        print(f"call failed: {exc}", file=sys.stderr)
        return 1
    if args.out:
        write_mulaw_wav(args.out, report.heard)
    print(report.summary())
    if report.interrupt_frames_before_clear is not None:
        print(
            f"barge-in          clear after {report.interrupt_frames_before_clear} frames of the interruption"
        )
    return 1 if report.twilio_warnings or (report.instructions and report.instructions.problems) else 0


if __name__ == "__main__":
    raise SystemExit(main())
