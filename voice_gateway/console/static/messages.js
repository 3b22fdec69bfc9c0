// The Messages page: new messages appear, and each owner's-WhatsApp state moves on, without a reload.
// Asks the server every few seconds while the page is visible (one page of messages, rendered by the
// same template as the page); a message already shown keeps its node, so focus on its button survives.
"use strict";

const POLL_MS = 5000;
const list = document.getElementById("message-list");
const live = document.getElementById("messages-live");
const parser = new DOMParser();

function parse(html) {
  // The server rendered and escaped it (the page's own template); parsed inert, then adopted.
  return document.adoptNode(parser.parseFromString(html, "text/html").body.firstElementChild);
}

async function refreshMessages() {
  if (document.visibilityState !== "visible") return;
  let body;
  try {
    const response = await fetch(`/console/messages/updates?status=${encodeURIComponent(list.dataset.status)}`, {
      credentials: "same-origin",
    });
    if (!response.ok) return; // signed out or the gateway restarting: the next tick tries again
    body = await response.json();
  } catch {
    return;
  }
  const arrived = [];
  let before = list.firstElementChild;
  for (const { id, html } of body.messages) {
    const fresh = parse(html);
    const shown = document.getElementById(fresh.id);
    if (shown) {
      shown.querySelector("dd.notify").replaceWith(fresh.querySelector("dd.notify"));
      before = shown.nextElementSibling;
    } else {
      fresh.classList.add("fresh");
      list.insertBefore(fresh, before);
      arrived.push(fresh.querySelector("h2").textContent);
    }
  }
  if (arrived.length) {
    live.textContent = `${arrived.length} new message${arrived.length > 1 ? "s" : ""}: ${arrived.join(", ")}`;
    document.getElementById("no-messages").hidden = true;
  }
}

setInterval(refreshMessages, POLL_MS);
document.addEventListener("visibilitychange", refreshMessages);
