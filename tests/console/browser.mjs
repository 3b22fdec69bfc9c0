// Drives Debian's chromium through playwright-core against a gateway on 127.0.0.1 for one scenario.
// Talks to the pytest side over stdio: prints "STEP <name> [detail]" and, where the test must act
// (start a QR, place a call), waits for one line on stdin before going on. Exit code 0 = passed.
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ownerScenarios } from "./owner.mjs";
import { talkScenarios } from "./talk.mjs";

const require = createRequire(new URL("../js/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const config = JSON.parse(process.argv[2]);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

function step(name, detail = "") {
  process.stdout.write(`STEP ${name}${detail ? " " + detail : ""}\n`);
}

async function go() {
  const { value, done } = await lines.next();
  if (done) throw new Error("the test closed stdin before saying go");
  return value;
}

async function shot(page, name, fullPage = true) {
  if (config.shots) await page.screenshot({ path: join(config.shots, `${name}.png`), fullPage });
}

async function signIn(page) {
  await page.goto(`${config.base}/console`);
  await page.waitForURL(/\/console\/login$/);
  await shot(page, "login");
  // By its label, as a screen reader finds it.
  await page.getByLabel("Console password").fill(config.password);
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/console$/);
  step("SIGNED_IN");
}

async function pairing(page) {
  await signIn(page);
  await page.locator('[data-provider="baileys"]').waitFor();
  await page.getByRole("button", { name: "Start pairing" }).click();
  await page.locator("#pairing-result").getByText(/WhatsApp session start: now/).waitFor();
  step("READY", await page.locator("#pairing-result").textContent());
  await go();
  const qr = page.locator("#qr");
  await qr.waitFor({ state: "visible" });
  await page.waitForFunction(() => document.getElementById("qr").naturalWidth > 0);
  const first = await qr.getAttribute("src");
  await shot(page, "overview-pairing");
  step("QR_SHOWN", first);
  await go();
  await page.waitForFunction((before) => document.getElementById("qr").getAttribute("src") !== before, first);
  await page.waitForFunction(() => document.getElementById("qr").naturalWidth > 0);
  step("QR_ROTATED", await qr.getAttribute("src"));
  await go();
  await page.getByText(/baileys: connected as \+\d+/).waitFor();
  await qr.waitFor({ state: "hidden" });
  step("CONNECTED", await page.locator('[data-provider="baileys"]').textContent());
}

async function liveCall(page) {
  await signIn(page);
  step("READY");
  await go();
  const card = page.locator("#live-calls article");
  await card.getByText("Hello, how can I help?").waitFor();
  step("FIRST_LINE");
  await go();
  await card.getByText("When are you open?").waitFor();
  await card.getByText("We're open nine to five.").waitFor();
  await shot(page, "overview-live-call");
  step("TRANSCRIPT_SEEN", await card.locator("h3").textContent());
  page.once("dialog", (dialog) => dialog.accept());
  await card.getByRole("button", { name: /Hang up/ }).click();
  await page.locator("#no-calls").waitFor({ state: "visible" });
  step("HUNG_UP");
  await go();
  await page.goto(`${config.base}/console/history`);
  const past = page.locator("article.call").first();
  await past.getByText("hung up by operator").waitFor();
  await past.locator("summary").click();
  await past.getByText("We're open nine to five.").waitFor();
  await past.locator("figure.latency svg rect").first().waitFor();
  await shot(page, "history");
  step("HISTORY_SEEN", await past.locator("svg").getAttribute("aria-label"));
}

async function whatsapp(page) {
  await signIn(page);
  await page.getByRole("link", { name: "WhatsApp" }).click();
  await page.waitForURL(/\/console\/whatsapp$/);
  await page.getByLabel("To (phone number with country code)").fill(config.contact);
  await page.getByLabel("Message", { exact: true }).fill("Your appointment is confirmed for Tuesday at 10.");
  await page.getByLabel("Send through").selectOption("twilio");
  await page.getByRole("button", { name: "Send" }).click();
  await page.waitForURL(/contact=/);
  const sent = page.locator("#thread li.outbound").filter({ hasText: "Your appointment is confirmed" });
  await sent.waitFor();
  await shot(page, "whatsapp");
  step("SENT", await sent.locator("small").textContent());
  await page.getByRole("link", { name: "Knowledge" }).click();
  await page.locator("#greeting-heard").waitFor();
  step("KNOWLEDGE_SEEN", await page.locator("#greeting-heard").textContent());
}

async function greeting(page) {
  await signIn(page);
  await page.getByRole("link", { name: "Knowledge" }).click();
  await page.waitForURL(/\/console\/knowledge$/);
  // By keyboard, as an operator without a mouse would.
  await page.getByRole("button", { name: /Play the greeting/ }).focus();
  await page.keyboard.press("Enter");
  await page.locator("#greeting-status").getByText(/Playing what a caller hears/).waitFor();
  // The player really plays: its clock moves through the recording.
  await page.waitForFunction(() => document.getElementById("greeting-audio").currentTime > 0.5);
  const player = await page.evaluate(() => {
    const audio = document.getElementById("greeting-audio");
    return { duration: audio.duration, error: audio.error && audio.error.code, visible: !audio.hidden };
  });
  await shot(page, "knowledge", false); // the file itself is long: its top is enough
  step("GREETING_PLAYING", JSON.stringify({ ...player, status: await page.locator("#greeting-status").textContent() }));
}

const scenarios = {
  pairing,
  "live-call": liveCall,
  whatsapp,
  greeting,
  ...talkScenarios({ step, go, shot, signIn, config }),
};

// Teach the agent, messages, bookings (owner.mjs).
Object.assign(scenarios, ownerScenarios({ step, go, shot, signIn, config }));

const profile = mkdtempSync(join(tmpdir(), "agentlocator-chromium-"));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: config.chromium,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    // A scenario's own flags, e.g. a fake microphone playing a WAV (talk.mjs).
    ...(config.args || []),
  ],
  viewport: { width: 390, height: 780 },
  // No wall-clock limits here: pytest's own timeout ends a hung run.
  timeout: 0,
});
let failed = false;
try {
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(0);
  page.on("pageerror", (error) => step("PAGE_ERROR", String(error)));
  page.on("console", (message) => {
    // A scenario may expect one error the browser itself logs (a refused WebSocket upgrade).
    const expected = config.expected_error && message.text().includes(config.expected_error);
    if (message.type() === "error" && !expected) step("CONSOLE_ERROR", message.text());
  });
  await scenarios[config.scenario](page);
  step("DONE");
} catch (error) {
  failed = true;
  process.stderr.write(`${error.stack || error}\n`);
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
