// Browser scenarios for the owner's pages: teaching the agent (Knowledge), Messages, Bookings.
// Each gets the helpers of browser.mjs and reports "STEP <name> [detail]" for the pytest side.

export function ownerScenarios({ step, go, shot, signIn, config }) {
  async function openKnowledge(page) {
    await page.getByRole("navigation", { name: "Console sections" }).getByRole("link", { name: "Knowledge" }).click();
    await page.waitForURL(/\/console\/knowledge$/);
  }

  async function save(page) {
    await page.getByRole("button", { name: "Save as a new version" }).click();
    await page.waitForLoadState("domcontentloaded");
  }

  // A refused save is answered 422 (a value to fix) or 409 (saved under you), which chromium logs as a
  // failed load of the page; any other error still fails the scenario.
  function expectStatuses(page, statuses) {
    page.removeAllListeners("console");
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      if (statuses.some((status) => message.text().includes(`status of ${status} `))) return;
      step("CONSOLE_ERROR", message.text());
    });
  }

  async function knowledge(page) {
    expectStatuses(page, [422, 409]);
    await signIn(page);
    await openKnowledge(page);
    // Edit as an owner would, finding each field by its label.
    const saturday = page.getByLabel("Saturday hours");
    await saturday.fill("10:00-14:00");
    const said = page.getByLabel("Opening hours, as said");
    await said.fill((await said.inputValue()).replace("Saturday from 9 am to 1 pm", "Saturday from 10 am to 2 pm"));
    await save(page);
    await page.locator("#saved").getByText("Saved as version 2.").waitFor();
    await page.locator("#version-2").waitFor();
    step("SAVED", JSON.stringify({ saturday: await page.getByLabel("Saturday hours").inputValue(), current: await page.locator("#current-version").textContent() }));

    // An impossible value: refused, the field named and marked, what was typed kept.
    await page.getByLabel("Saturday hours").fill("14:00-10:00");
    await save(page);
    const problem = page.locator("#problem");
    await problem.waitFor();
    await shot(page, "knowledge-refused", false);
    const field = page.getByLabel("Saturday hours");
    step("REFUSED", JSON.stringify({
      problem: await page.locator("#problem-text").textContent(),
      invalid: await field.getAttribute("aria-invalid"),
      kept: await field.inputValue(),
    }));
    // The problem's link takes the keyboard to the field.
    await problem.getByRole("link").click();
    step("FOCUSED", await page.evaluate(() => document.activeElement.id));

    // Two owners at once: a second tab saves first; this tab is told, and nothing is overwritten.
    const other = await page.context().newPage();
    await other.goto(`${config.base}/console/knowledge`);
    const answer = other.getByLabel("Answer").first();
    await answer.fill("Yes, and we're glad to see you.");
    await other.getByRole("button", { name: "Save as a new version" }).click();
    await other.locator("#saved").getByText("Saved as version 3.").waitFor();
    await other.close();
    await page.getByLabel("Saturday hours").fill("08:00-12:00");
    await save(page);
    await page.locator("#stale").waitFor();
    await shot(page, "knowledge-stale", false);
    step("STALE", JSON.stringify(await page.locator("#stale").innerText()));

    // Restore the first version from the list.
    await page.goto(`${config.base}/console/knowledge`);
    await page.getByRole("button", { name: "Restore version 1" }).click();
    await page.locator("#saved").getByText("Saved as version 4.").waitFor();
    await shot(page, "knowledge-form", false);
    step("RESTORED", JSON.stringify({
      saturday: await page.getByLabel("Saturday hours").inputValue(),
      versions: await page.locator("ol.versions li").count(),
    }));
  }

  async function messages(page) {
    await signIn(page);
    await page.getByRole("navigation", { name: "Console sections" }).getByRole("link", { name: "Messages" }).click();
    await page.waitForURL(/\/console\/messages$/);
    const first = page.locator("article.message").filter({ hasText: config.first_reason });
    await first.waitFor();
    step("READY", await first.locator("a[href^='tel:']").getAttribute("href"));
    await go(); // the test stores a second message while the page is open
    const second = page.locator("article.message.fresh").filter({ hasText: config.second_reason });
    await second.waitFor();
    await page.locator("#messages-live").getByText(/1 new message/).waitFor();
    await shot(page, "messages");
    step("ARRIVED", await page.locator("#messages-live").textContent());
    await first.getByRole("button", { name: "Mark handled" }).click();
    await page.waitForURL(/status=new$/);
    await page.locator("article.message").filter({ hasText: config.second_reason }).waitFor();
    await page.locator("article.message").filter({ hasText: config.first_reason }).waitFor({ state: "detached" });
    await page.getByRole("link", { name: "Handled" }).click();
    const handled = page.locator("article.message").filter({ hasText: config.first_reason });
    await handled.getByRole("button", { name: /mark as new/ }).waitFor();
    step("HANDLED", await handled.getByRole("button").textContent());
  }

  async function bookings(page) {
    await signIn(page);
    await page.getByRole("navigation", { name: "Console sections" }).getByRole("link", { name: "Bookings" }).click();
    await page.waitForURL(/\/console\/bookings$/);
    const booked = page.locator("ul.bookings li").filter({ hasText: config.booked_name });
    await booked.waitFor();
    await shot(page, "bookings");
    step("LISTED", JSON.stringify({ day: await page.locator("section.bookings h2").first().textContent(), booking: await booked.textContent() }));
    let asked = "";
    page.once("dialog", (dialog) => {
      asked = dialog.message();
      dialog.accept();
    });
    await booked.getByRole("button", { name: /^Cancel the / }).click();
    await page.waitForURL(/cancelled=/);
    await page.getByText("No upcoming bookings.").waitFor();
    step("CANCELLED", JSON.stringify({ asked, notice: await page.locator("p.notice").textContent() }));
  }

  return { knowledge, messages, bookings };
}
