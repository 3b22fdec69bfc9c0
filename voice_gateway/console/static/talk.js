// "Talk to your agent": one call from this page's microphone, spoken to the gateway as a Twilio Media
// Stream (connected, start, media, mark, stop) on the console's own socket, with the agent's audio played
// back by talk-worklet.js and, in AI mode, the call's live transcript beside it.
"use strict";

(() => {
  const root = document.getElementById("talk");
  if (!root) return;
  const startButton = document.getElementById("talk-start");
  const stopButton = document.getElementById("talk-stop");
  const state = document.getElementById("talk-state");
  const problem = document.getElementById("talk-problem");
  const transcript = document.getElementById("talk-transcript");
  let call = null;

  function hex(bytes) {
    return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function say(text) {
    state.textContent = text;
  }

  function explain(text) {
    problem.textContent = text;
    problem.hidden = !text;
  }

  function count(name, by = 1) {
    root.dataset[name] = String(Number(root.dataset[name] || 0) + by);
  }

  function line(role, text, pending = false) {
    const item = document.createElement("li");
    item.className = role + (pending ? " pending" : "");
    const who = document.createElement("b");
    who.textContent = role === "user" ? "You: " : "Agent: ";
    item.append(who, document.createTextNode(text));
    transcript.append(item);
    return item;
  }

  function microphoneProblem(error) {
    if (error && (error.name === "NotAllowedError" || error.name === "SecurityError")) {
      return "The browser did not let this page use the microphone, so the call was not started. Allow the microphone for this site (the icon in the address bar) and press Start again.";
    }
    if (error && error.name === "NotFoundError") return "No microphone was found. Plug one in and press Start again.";
    if (error && error.name === "NotReadableError") return "The microphone is in use by another program. Close it and press Start again.";
    return `The microphone could not be opened (${error && error.name ? error.name : error}).`;
  }

  function base64(bytes) {
    let text = "";
    for (const byte of bytes) text += String.fromCharCode(byte);
    return btoa(text);
  }

  function unbase64(text) {
    const raw = atob(text);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function follow(current) {
    // The transcript of the call as the agent hears and answers it (AI mode only).
    const events = new EventSource(`/console/talk/${current.callSid}/live`);
    current.events = events;
    let said = null;
    events.addEventListener("heard", (e) => line("user", JSON.parse(e.data).text));
    events.addEventListener("said", (e) => {
      const text = JSON.parse(e.data).text;
      if (said) said.lastChild.textContent += " " + text;
      else said = line("agent", text, true);
    });
    events.addEventListener("played", (e) => {
      const text = JSON.parse(e.data).text;
      if (said) {
        said.lastChild.textContent = text;
        said.classList.remove("pending");
        said = null;
      } else line("agent", text);
    });
    events.addEventListener("end", () => events.close());
    events.onerror = () => {
      if (events.readyState === EventSource.CLOSED && call === current) say("The live transcript stopped; the call goes on.");
    };
  }

  async function start() {
    explain("");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.AudioWorkletNode) {
      explain("This browser cannot capture the microphone here. Open the console over https (or on localhost) in a current browser.");
      return;
    }
    startButton.disabled = true;
    say("Asking for the microphone…");
    let microphone;
    try {
      microphone = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
    } catch (error) {
      explain(microphoneProblem(error));
      say("Not connected.");
      startButton.disabled = false;
      return;
    }
    const context = new AudioContext();
    await context.audioWorklet.addModule("/console/static/talk-worklet.js");
    const node = new AudioWorkletNode(context, "media-stream-line", { outputChannelCount: [1] });
    context.createMediaStreamSource(microphone).connect(node);
    node.connect(context.destination);
    await context.resume();
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const current = {
      callSid: "BR" + hex(16),
      streamSid: "MZ" + hex(16),
      socket: new WebSocket(`${scheme}//${location.host}${root.dataset.path}`),
      microphone,
      context,
      node,
      sequence: 0,
      chunk: 0,
      events: null,
    };
    call = current;
    root.dataset.callSid = current.callSid;
    const send = (message) => {
      if (current.socket.readyState === WebSocket.OPEN) current.socket.send(JSON.stringify(message));
    };
    const next = () => String((current.sequence += 1));
    node.port.onmessage = (event) => {
      const message = event.data;
      if (message.type === "frame") {
        current.chunk += 1;
        const media = { track: "inbound", chunk: String(current.chunk), timestamp: String((current.chunk - 1) * 20), payload: base64(message.payload) };
        send({ event: "media", sequenceNumber: next(), media, streamSid: current.streamSid });
        count("framesSent");
      } else if (message.type === "mark") {
        send({ event: "mark", sequenceNumber: next(), streamSid: current.streamSid, mark: { name: message.name } });
        count(message.cleared ? "marksCleared" : "marksPlayed");
      } else if (message.type === "played") {
        root.dataset.msPlayed = String(message.ms);
      }
    };
    current.socket.onopen = () => {
      send({ event: "connected", protocol: "Call", version: "1.0.0" });
      const start = {
        streamSid: current.streamSid,
        callSid: current.callSid,
        accountSid: "",
        tracks: ["inbound"],
        mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
        customParameters: {},
      };
      send({ event: "start", sequenceNumber: next(), start, streamSid: current.streamSid });
      node.port.postMessage({ type: "capture", on: true });
      stopButton.disabled = false;
      say(root.dataset.mode === "ECHO" ? "Connected (echo mode): you hear yourself back." : "Connected: speak to your agent.");
    };
    current.socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.event === "media") {
        const bytes = unbase64(message.media.payload);
        node.port.postMessage({ type: "media", bytes }, [bytes.buffer]);
        count("framesReceived");
      } else if (message.event === "mark") {
        node.port.postMessage({ type: "mark", name: message.mark.name });
      } else if (message.event === "clear") {
        node.port.postMessage({ type: "clear" });
        count("clears");
      }
    };
    current.socket.onclose = (event) => {
      if (call !== current) return;
      if (event.code !== 1000 && event.code !== 1005) {
        explain(event.reason ? `The call was refused or cut off: ${event.reason}` : `The call was cut off (code ${event.code}). Sign in again if the console asks, then press Start.`);
      }
      finish("Call ended.");
    };
    if (root.dataset.mode === "AI") follow(current);
  }

  function finish(text) {
    const current = call;
    if (!current) return;
    call = null;
    current.node.port.postMessage({ type: "capture", on: false });
    for (const track of current.microphone.getTracks()) track.stop();
    // The end of the call may still be playing: give it a moment before the audio stops.
    setTimeout(() => current.context.close(), 1500);
    if (current.events && current.events.readyState !== EventSource.CLOSED) setTimeout(() => current.events.close(), 3000);
    say(text);
    startButton.disabled = false;
    stopButton.disabled = true;
  }

  function hangUp() {
    const current = call;
    if (!current) return;
    const stop = { event: "stop", sequenceNumber: String(current.sequence + 1), streamSid: current.streamSid, stop: { accountSid: "", callSid: current.callSid } };
    if (current.socket.readyState === WebSocket.OPEN) current.socket.send(JSON.stringify(stop));
    finish("You hung up.");
    current.socket.close(1000);
  }

  startButton.addEventListener("click", () => {
    start().catch((error) => {
      explain(`The call could not start: ${error}`);
      finish("Not connected.");
      startButton.disabled = false;
    });
  });
  stopButton.addEventListener("click", hangUp);
})();
