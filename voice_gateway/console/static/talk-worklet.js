// The browser call's audio line, on the audio thread: the microphone in (any AudioContext rate) becomes
// 8 kHz µ-law in 160-byte (20 ms) frames posted to the page; the agent's µ-law out is decoded, resampled to
// the context's rate and played in order, with its marks reported as the audio before them finishes (as
// Twilio does) and a `clear` dropping whatever is queued. No library: G.711 µ-law is a few lines.
"use strict";

const LINE_RATE = 8000;
const FRAME_BYTES = 160;

// G.711 µ-law (ITU-T G.711, with the usual bias of 0x84 and clip at 32635).
function mulawEncode(sample) {
  let pcm = Math.max(-1, Math.min(1, sample)) * 32767;
  const sign = pcm < 0 ? 0x80 : 0;
  pcm = Math.min(32635, Math.abs(pcm)) + 0x84;
  let exponent = 7;
  for (let mask = 0x4000; (pcm & mask) === 0 && exponent > 0; mask >>= 1) exponent -= 1;
  const mantissa = (pcm >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

const MULAW_DECODE = new Float32Array(256);
for (let byte = 0; byte < 256; byte += 1) {
  const u = ~byte & 0xff;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4)) - 0x84;
  MULAW_DECODE[byte] = ((u & 0x80) ? -magnitude : magnitude) / 32768;
}

// A second-order low-pass (RBJ's cookbook, Butterworth Q): two in a row keep what is above the telephone
// band from folding back into it when the microphone is decimated to 8 kHz.
class LowPass {
  constructor(rate, cutoff) {
    const w = (2 * Math.PI * Math.min(cutoff, rate * 0.45)) / rate;
    const alpha = Math.sin(w) / (2 * Math.SQRT1_2);
    const a0 = 1 + alpha;
    this.b0 = (1 - Math.cos(w)) / 2 / a0;
    this.b1 = (1 - Math.cos(w)) / a0;
    this.b2 = this.b0;
    this.a1 = (-2 * Math.cos(w)) / a0;
    this.a2 = (1 - alpha) / a0;
    this.x1 = this.x2 = this.y1 = this.y2 = 0;
  }

  next(x) {
    const y = this.b0 * x + this.b1 * this.x1 + this.b2 * this.x2 - this.a1 * this.y1 - this.a2 * this.y2;
    this.x2 = this.x1;
    this.x1 = x;
    this.y2 = this.y1;
    this.y1 = y;
    return y;
  }
}

// Linear-interpolating rate change that carries its phase across blocks, so frames join without clicks.
class Resampler {
  constructor(from, to) {
    this.step = from / to;
    this.position = 1; // of the next output sample, in input samples after `previous`
    this.previous = 0;
  }

  push(sample, emit) {
    while (this.position <= 1) {
      emit(this.previous + (sample - this.previous) * this.position);
      this.position += this.step;
    }
    this.position -= 1;
    this.previous = sample;
  }
}

class MediaStreamLine extends AudioWorkletProcessor {
  constructor() {
    super();
    this.capturing = false;
    this.filters = [new LowPass(sampleRate, 3400), new LowPass(sampleRate, 3400)];
    this.down = new Resampler(sampleRate, LINE_RATE);
    this.up = new Resampler(LINE_RATE, sampleRate);
    this.frame = new Uint8Array(FRAME_BYTES);
    this.filled = 0;
    this.queue = []; // {audio: Float32Array, offset} or {mark: name}, in the order the agent sent them
    this.playedSamples = 0;
    this.reportedAt = 0;
    this.port.onmessage = (event) => this.command(event.data);
  }

  command(message) {
    if (message.type === "capture") {
      this.capturing = message.on;
    } else if (message.type === "media") {
      const out = [];
      for (const byte of message.bytes) this.up.push(MULAW_DECODE[byte], (s) => out.push(s));
      this.queue.push({ audio: Float32Array.from(out), offset: 0 });
    } else if (message.type === "mark") {
      this.queue.push({ mark: message.name });
      this.releaseMarks();
    } else if (message.type === "clear") {
      // Twilio answers every mark still queued when it clears, so the agent knows what was never heard.
      for (const item of this.queue) if (item.mark !== undefined) this.port.postMessage({ type: "mark", name: item.mark, cleared: true });
      this.queue = [];
    }
  }

  releaseMarks() {
    while (this.queue.length && this.queue[0].mark !== undefined) {
      this.port.postMessage({ type: "mark", name: this.queue.shift().mark, cleared: false });
    }
  }

  capture(input) {
    for (let i = 0; i < input.length; i += 1) {
      const filtered = this.filters[1].next(this.filters[0].next(input[i]));
      this.down.push(filtered, (sample) => {
        this.frame[this.filled] = mulawEncode(sample);
        this.filled += 1;
        if (this.filled === FRAME_BYTES) {
          const full = this.frame;
          this.port.postMessage({ type: "frame", payload: full }, [full.buffer]);
          this.frame = new Uint8Array(FRAME_BYTES);
          this.filled = 0;
        }
      });
    }
  }

  play(output) {
    let written = 0;
    while (written < output.length) {
      this.releaseMarks();
      const head = this.queue[0];
      if (head === undefined) break;
      const count = Math.min(output.length - written, head.audio.length - head.offset);
      output.set(head.audio.subarray(head.offset, head.offset + count), written);
      head.offset += count;
      written += count;
      this.playedSamples += count;
      if (head.offset === head.audio.length) this.queue.shift();
    }
    this.releaseMarks();
    output.fill(0, written);
    if (this.playedSamples - this.reportedAt >= sampleRate / 10) {
      this.reportedAt = this.playedSamples;
      this.port.postMessage({ type: "played", ms: Math.round((this.playedSamples * 1000) / sampleRate) });
    }
  }

  process(inputs, outputs) {
    const input = inputs[0] && inputs[0][0];
    if (this.capturing && input) this.capture(input);
    const output = outputs[0] && outputs[0][0];
    if (output) {
      this.play(output);
      for (let channel = 1; channel < outputs[0].length; channel += 1) outputs[0][channel].set(output);
    }
    return true;
  }
}

registerProcessor("media-stream-line", MediaStreamLine);
