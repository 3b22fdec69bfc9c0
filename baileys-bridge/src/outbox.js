// At-least-once webhook delivery from an on-disk outbox. An event is fsynced to disk before enqueue()
// resolves, and its file is deleted only after the gateway answered 2xx, so a crash or a gateway restart
// loses nothing. Delivery is strictly in order (the head is retried before anything behind it).
import { randomUUID } from 'node:crypto';
import { readdir, readFile, rename, rm, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileDurably } from './atomic-file.js';
import { backoffDelay } from './backoff.js';
import { signWebhook } from './signing.js';

const RETRYABLE_STATUS = new Set([408, 429]);

export class Outbox {
  /**
   * @param {{dir: string, url: string|null, secret: string, timeoutMs: number, retryMinMs: number,
   *          retryMaxMs: number, logger: import('pino').Logger}} options
   */
  constructor({ dir, url, secret, timeoutMs, retryMinMs, retryMaxMs, logger }) {
    this.dir = dir;
    this.deadDir = path.join(dir, 'dead');
    this.url = url;
    this.secret = secret;
    this.timeoutMs = timeoutMs;
    this.retryMinMs = retryMinMs;
    this.retryMaxMs = retryMaxMs;
    this.logger = logger;
    this.queue = []; // file names, oldest first
    this.seq = 0;
    this.writing = Promise.resolve();
    this.counters = { enqueued: 0, delivered: 0, failed_attempts: 0, dead: 0 };
    this.running = false;
    this.wake = null;
    this.idle = false;
    this.timer = null;
    this.loop = null;
  }

  get depth() {
    return this.queue.length;
  }

  /** Load what an earlier process left behind and start delivering. */
  async open() {
    await mkdir(this.deadDir, { recursive: true });
    const names = (await readdir(this.dir)).filter((n) => n.endsWith('.json')).sort();
    this.queue.push(...names);
    if (names.length > 0) this.logger.info({ pending: names.length }, 'outbox: resuming undelivered webhooks');
    if (!this.url) this.logger.warn('outbox: BRIDGE_WEBHOOK_URL is not set; events are kept on disk until it is');
    this.running = true;
    this.loop = this.#deliverForever();
  }

  async close() {
    await this.writing;
    this.running = false;
    this.#poke(true);
    await this.loop;
  }

  /** Persist one event; resolves once it is on disk. */
  enqueue(type, data) {
    // Writes are chained so events reach the queue in the order enqueue() was called.
    const done = this.writing.then(() => this.#write(type, data));
    this.writing = done.catch(() => undefined);
    return done;
  }

  async #write(type, data) {
    const event = { id: randomUUID(), type, created_at: new Date().toISOString(), data };
    // Zero-padded time + sequence keeps lexical order equal to enqueue order, even across restarts.
    const name = `${String(Date.now()).padStart(15, '0')}-${String(this.seq++).padStart(6, '0')}-${event.id}.json`;
    await writeFileDurably(path.join(this.dir, name), JSON.stringify(event));
    this.queue.push(name);
    this.counters.enqueued += 1;
    this.#poke(false);
    return event;
  }

  // A new event wakes an idle loop, but never cuts short a retry backoff (that would hammer the gateway).
  #poke(force) {
    if (this.wake && (force || this.idle)) {
      const wake = this.wake;
      this.wake = null;
      clearTimeout(this.timer);
      wake();
    }
  }

  #sleep(ms) {
    this.idle = ms === Infinity;
    return new Promise((resolve) => {
      this.wake = resolve;
      if (ms !== Infinity) this.timer = setTimeout(() => this.#poke(true), ms);
    });
  }

  async #deliverForever() {
    let attempt = 0;
    while (this.running) {
      if (this.queue.length === 0 || !this.url) {
        await this.#sleep(Infinity);
        continue;
      }
      const name = this.queue[0];
      const outcome = await this.#deliverOne(name, attempt + 1);
      if (outcome === 'retry') {
        attempt += 1;
        this.counters.failed_attempts += 1;
        await this.#sleep(backoffDelay(attempt, this.retryMinMs, this.retryMaxMs));
        continue;
      }
      attempt = 0;
      this.queue.shift();
    }
  }

  async #deliverOne(name, attempt) {
    const file = path.join(this.dir, name);
    let rawBody;
    let event;
    try {
      rawBody = await readFile(file, 'utf8');
      event = JSON.parse(rawBody);
    } catch (err) {
      this.logger.error({ err, file }, 'outbox: unreadable event file moved to dead/');
      await this.#bury(name);
      return 'done';
    }
    // Signed at each attempt, so a retry hours later still passes the receiver's replay window.
    const timestamp = Math.floor(Date.now() / 1000);
    let status;
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-wa-event-id': event.id,
          'x-wa-timestamp': String(timestamp),
          'x-wa-signature': signWebhook(this.secret, timestamp, rawBody),
        },
        body: rawBody,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = response.status;
      await response.arrayBuffer().catch(() => undefined);
    } catch (err) {
      this.logger.warn({ event_id: event.id, attempt, err: err.message }, 'outbox: webhook not delivered, will retry');
      return 'retry';
    }
    if (status >= 200 && status < 300) {
      await rm(file, { force: true });
      this.counters.delivered += 1;
      this.logger.debug({ event_id: event.id, type: event.type, attempt }, 'outbox: delivered');
      return 'done';
    }
    if (status >= 500 || RETRYABLE_STATUS.has(status)) {
      this.logger.warn({ event_id: event.id, attempt, status }, 'outbox: gateway refused for now, will retry');
      return 'retry';
    }
    this.logger.error({ event_id: event.id, type: event.type, status }, 'outbox: gateway rejected event; moved to dead/');
    await this.#bury(name);
    return 'done';
  }

  async #bury(name) {
    this.counters.dead += 1;
    await rename(path.join(this.dir, name), path.join(this.deadDir, name)).catch(() => undefined);
  }
}
