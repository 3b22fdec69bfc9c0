// Runs talk-worklet.js in Node with the two things an AudioWorkletGlobalScope gives it (the processor base
// class with its port, and registerProcessor/sampleRate), drives it block by block as the audio thread
// would, and prints what it did as one JSON line for test_console_talk_worklet.py.
import { readFileSync } from "node:fs";
import { createContext, runInContext } from "node:vm";

const [, , path, rateText] = process.argv;
const rate = Number(rateText);
const posted = [];
let Processor = null;

class AudioWorkletProcessor {
  constructor() {
    this.port = { postMessage: (message) => posted.push(message), onmessage: null };
  }
}

const scope = createContext({
  AudioWorkletProcessor,
  sampleRate: rate,
  registerProcessor: (name, cls) => {
    Processor = cls;
  },
});
runInContext(readFileSync(path, "utf8"), scope);

const line = new Processor();
const send = (data) => line.port.onmessage({ data });
const BLOCK = 128;

function run(blocks, input = () => 0) {
  const out = [];
  for (let b = 0; b < blocks; b += 1) {
    const samples = new Float32Array(BLOCK);
    for (let i = 0; i < BLOCK; i += 1) samples[i] = input(b * BLOCK + i);
    const output = new Float32Array(BLOCK);
    line.process([[samples]], [[output]]);
    out.push(...output);
  }
  return out;
}

// 1. Capture: one second of a 440 Hz tone at the context's rate becomes 50 frames of 160 µ-law bytes.
send({ type: "capture", on: true });
const blocksPerSecond = Math.ceil(rate / BLOCK);
run(blocksPerSecond, (n) => 0.5 * Math.sin((2 * Math.PI * 440 * n) / rate));
const frames = posted.filter((m) => m.type === "frame");
const sizes = [...new Set(frames.map((f) => f.payload.length))];
send({ type: "capture", on: false });

// 2. Playback: 100 ms of agent audio, a mark, then 100 ms more and a second mark.
posted.length = 0;
const loud = new Uint8Array(800).fill(0x80); // µ-law 0x80: the loudest positive sample
send({ type: "media", bytes: loud });
send({ type: "mark", name: "first" });
send({ type: "media", bytes: loud });
send({ type: "mark", name: "second" });
const firstBlocks = Math.ceil((rate * 0.1) / BLOCK) + 1; // past the first 100 ms
const played = run(firstBlocks);
const marksAfterFirst = posted.filter((m) => m.type === "mark").map((m) => [m.name, m.cleared]);

// 3. Barge-in: `clear` drops the rest of the audio and answers the pending mark as cleared at once.
send({ type: "clear" });
const marksAfterClear = posted.filter((m) => m.type === "mark").map((m) => [m.name, m.cleared]);
const afterClear = run(4);

// 4. A mark with nothing queued before it is answered at once.
posted.length = 0;
send({ type: "mark", name: "idle" });
const idleMark = posted.filter((m) => m.type === "mark").map((m) => [m.name, m.cleared]);

// 5. µ-law: every byte decodes and encodes back to itself (but 0x7f, "minus zero", which is 0xff's zero).
const roundTrip = runInContext(
  "Array.from({ length: 256 }, (_, byte) => mulawEncode(MULAW_DECODE[byte]))",
  scope,
);
const changed = roundTrip.map((back, byte) => [byte, back]).filter(([byte, back]) => byte !== back);

process.stdout.write(
  JSON.stringify({
    frames: frames.length,
    sizes,
    loudestOut: Math.max(...played.map(Math.abs)),
    playedNonZero: played.filter((s) => s !== 0).length,
    marksAfterFirst,
    marksAfterClear,
    silentAfterClear: afterClear.every((s) => s === 0),
    idleMark,
    changed,
  }) + "\n",
);
