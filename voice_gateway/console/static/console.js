// The console's only script: WhatsApp pairing state and QR, session buttons, live call transcripts, and
// the greeting's play button.
"use strict";

const csrf = document.querySelector("main").dataset.csrf;

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function describeProvider(name, info) {
  if (!info.configured) return `${name}: not configured (${info.detail || "missing settings"})`;
  if (name === "twilio") return `twilio: configured, sender ${info.from}`;
  if (info.reachable === false) return `${name}: sidecar unreachable (${info.detail})`;
  if (info.state === "open") return `${name}: connected as ${info.me && info.me.phone ? "+" + String(info.me.phone).replace(/^\+/, "") : (info.me && info.me.id) || "?"}`;
  if (info.state === "qr") return `${name}: waiting for you to scan the QR code`;
  return `${name}: ${info.state || "unknown"}${info.reason ? " (" + info.reason + ")" : ""}`;
}

let lastQrId = "";

async function refreshPairing() {
  const box = document.getElementById("providers");
  try {
    const response = await fetch("/console/pairing.json", { credentials: "same-origin" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = await response.json();
    const list = element("ul");
    for (const [name, info] of Object.entries(body.providers)) {
      const item = element("li", describeProvider(name, info));
      item.dataset.provider = name;
      list.append(item);
    }
    box.replaceChildren(list);
    const qrBox = document.getElementById("qr-box");
    if (body.qr_id) {
      // WhatsApp rotates the code every few tens of seconds: load the image again only when it changed.
      if (body.qr_id !== lastQrId) {
        document.getElementById("qr").src = `/console/whatsapp/qr.png?id=${body.qr_id}`;
        lastQrId = body.qr_id;
      }
      qrBox.hidden = false;
    } else {
      qrBox.hidden = true;
      lastQrId = "";
    }
  } catch (error) {
    box.replaceChildren(element("p", `Could not ask for WhatsApp's state: ${error.message}`, "problem"));
  }
}

async function sessionAction(action) {
  const result = document.getElementById("pairing-result");
  result.textContent = "Working…";
  const form = new URLSearchParams({ csrf_token: csrf });
  const response = await fetch(`/console/whatsapp/session/${action}`, { method: "POST", body: form, credentials: "same-origin" });
  result.textContent = (await response.text()).trim();
  await refreshPairing();
}

async function hangUpCall(callSid, card) {
  if (!window.confirm("Hang up this call?")) return;
  const form = new URLSearchParams({ csrf_token: csrf });
  const response = await fetch(`/console/calls/${encodeURIComponent(callSid)}/hangup`, { method: "POST", body: form, credentials: "same-origin" });
  const note = element("p", (await response.text()).trim(), response.ok ? "muted" : "problem");
  note.setAttribute("role", "status");
  card.append(note);
}

// One card per call, kept across updates so focus (e.g. on "Hang up") survives new transcript lines.
const liveCards = new Map();

function formatDuration(seconds) {
  const whole = Math.max(0, Math.floor(seconds));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

// Who is on the line: the caller's number, or the console's own browser call (its CallSid starts "BR").
function whoCalls(call) {
  if (call.caller) return call.caller;
  return String(call.call_sid).startsWith("BR") ? "Browser call from the console" : "Unknown caller";
}

function callCard(call) {
  const card = element("article", undefined, "live");
  card.dataset.callSid = call.call_sid;
  const heading = element("h3");
  const lines = element("ol", undefined, "transcript");
  const hangUp = element("button", "Hang up", "secondary");
  hangUp.type = "button";
  hangUp.setAttribute("aria-label", `Hang up: ${whoCalls(call)}`);
  hangUp.addEventListener("click", () => hangUpCall(call.call_sid, card));
  card.append(heading, lines, hangUp);
  return { card, heading, lines, call };
}

function showDurations() {
  const now = Date.now() / 1000;
  for (const entry of liveCards.values()) {
    const { mode, started_at: startedAt } = entry.call;
    entry.heading.textContent = `${whoCalls(entry.call)} · ${formatDuration(now - startedAt)} · ${mode}`;
  }
}

function renderLiveCalls(calls) {
  const box = document.getElementById("live-calls");
  const present = new Set(calls.map((call) => call.call_sid));
  for (const [sid, entry] of liveCards) {
    if (!present.has(sid)) {
      entry.card.remove();
      liveCards.delete(sid);
    }
  }
  for (const call of calls) {
    let entry = liveCards.get(call.call_sid);
    if (!entry) {
      entry = callCard(call);
      liveCards.set(call.call_sid, entry);
      box.append(entry.card);
    }
    entry.call = call;
    for (const line of call.transcript.slice(entry.lines.children.length)) {
      const item = element("li", undefined, line.role);
      item.append(element("b", line.role === "user" ? "Caller: " : "Agent: "), document.createTextNode(line.text));
      entry.lines.append(item);
    }
  }
  document.getElementById("no-calls").hidden = liveCards.size > 0;
  showDurations();
}

if (document.getElementById("pairing")) {
  refreshPairing();
  setInterval(refreshPairing, 2000);
  for (const button of document.querySelectorAll("[data-session]")) {
    button.addEventListener("click", () => sessionAction(button.dataset.session));
  }
  const events = new EventSource("/console/calls/live");
  events.onmessage = (event) => renderLiveCalls(JSON.parse(event.data));
  setInterval(showDurations, 1000);
}

async function playGreeting() {
  const status = document.getElementById("greeting-status");
  const player = document.getElementById("greeting-audio");
  status.className = "muted";
  status.textContent = "Asking the agent's voice…";
  try {
    // Fetched rather than set as the player's src, so a failure shows the server's reason, not a dead player.
    const response = await fetch("/console/knowledge/greeting.wav", { credentials: "same-origin" });
    if (!response.ok) throw new Error((await response.text()).trim() || `HTTP ${response.status}`);
    const took = response.headers.get("X-Synthesis-Ms");
    if (player.src) URL.revokeObjectURL(player.src);
    player.src = URL.createObjectURL(await response.blob());
    player.hidden = false;
    status.textContent = `Playing what a caller hears (spoken in ${took} ms).`;
    await player.play();
  } catch (error) {
    status.className = "problem";
    status.textContent = `Could not play the greeting: ${error.message}`;
  }
}

if (document.getElementById("play-greeting")) {
  document.getElementById("play-greeting").addEventListener("click", playGreeting);
}
