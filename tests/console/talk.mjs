// browser.mjs's scenarios for "Talk to your agent": a call from the page's (fake) microphone. The pytest
// side (test_console_talk_browser.py) launches chromium with a WAV spoken by Piper as that microphone.

// What the page counted: frames sent and received, agent audio played, marks answered.
async function counters(page) {
  return page.evaluate(() => ({ ...document.getElementById("talk").dataset }));
}

async function openTalk(page, { signIn }) {
  await signIn(page);
  await page.getByRole("link", { name: "Talk to your agent" }).click();
  await page.waitForURL(/\/console\/talk$/);
}

export function talkScenarios({ step, go, shot, signIn, config }) {
  async function talkAi(page) {
    await openTalk(page, { signIn });
    // By keyboard, as an owner without a mouse would.
    await page.getByRole("button", { name: "Start the call" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("status").getByText(/Connected: speak to your agent/).waitFor();
    step("CONNECTED", await page.locator("#talk").getAttribute("data-call-sid"));
    const transcript = page.locator("#talk-transcript");
    await transcript.locator("li.user", { hasText: /saturday/i }).first().waitFor();
    // The answer to it, as the caller heard it (final, not the sentence still being spoken).
    await transcript.locator("li.user:has-text('aturday') ~ li.agent:not(.pending)").first().waitFor();
    await page.waitForFunction(() => Number(document.getElementById("talk").dataset.msPlayed || 0) > 1500);
    await shot(page, "talk");
    const lines = await transcript.locator("li").allTextContents();
    step("ANSWERED", JSON.stringify({ lines, ...(await counters(page)) }));
    await page.getByRole("button", { name: "Hang up" }).click();
    await page.getByRole("status").getByText("You hung up.").waitFor();
    step("HUNG_UP");
    await go();
    await page.getByRole("navigation", { name: "Console sections" }).getByRole("link", { name: "Calls" }).click();
    const call = page.locator("article.call.browser").first();
    await call.waitFor();
    await call.getByRole("link", { name: /Transcript, latency, messages and bookings/ }).click();
    await page.locator("#call-transcript").getByText(/saturday/i).first().waitFor();
    await shot(page, "call");
    step("CALL_PAGE", JSON.stringify(await page.locator("main").innerText()));
  }

  async function talkEcho(page) {
    await openTalk(page, { signIn });
    await page.getByRole("button", { name: "Start the call" }).click();
    await page.getByRole("status").getByText(/Connected \(echo mode\)/).waitFor();
    // Two seconds of the microphone came back and was played.
    await page.waitForFunction(() => Number(document.getElementById("talk").dataset.msPlayed || 0) > 2000);
    step("ECHOED", JSON.stringify(await counters(page)));
    await page.getByRole("button", { name: "Hang up" }).click();
    await page.getByRole("status").getByText("You hung up.").waitFor();
  }

  async function talkNoMicrophone(page) {
    await openTalk(page, { signIn });
    await page.getByRole("button", { name: "Start the call" }).click();
    const problem = page.getByRole("alert");
    await problem.getByText(/did not let this page use the microphone/).waitFor();
    await shot(page, "talk-no-microphone", false);
    step("EXPLAINED", JSON.stringify({ problem: await problem.textContent(), ...(await counters(page)) }));
  }

  async function talkSignedOut(page) {
    await page.goto(`${config.base}/console/talk`);
    await page.waitForURL(/\/console\/login$/);
    step("LOGIN_ASKED");
    // The socket itself, opened by a page of the console's own origin with no session: refused.
    const closed = await page.evaluate(
      (path) =>
        new Promise((resolve) => {
          const socket = new WebSocket(`ws://${location.host}${path}`);
          socket.onopen = () => resolve({ opened: true });
          socket.onclose = (event) => resolve({ opened: false, code: event.code });
        }),
      "/console/talk/stream",
    );
    step("SOCKET_REFUSED", JSON.stringify(closed));
  }

  return {
    "talk-ai": talkAi,
    "talk-echo": talkEcho,
    "talk-no-microphone": talkNoMicrophone,
    "talk-signed-out": talkSignedOut,
  };
}
