// The send pipeline: idempotency → session check → rate limit → on-WhatsApp check → send with a
// reserved id under a timeout. A send is never retried here: a failed one is reported, not repeated.
import { generateMessageIDV2 } from 'baileys';
import { ApiError } from './errors.js';
import { messageView } from './message-store.js';
import { E164, parseSendRequest } from './send-request.js';

const CONTACT_TTL_MS = 7 * 24 * 3600 * 1000;
const MAX_CHECK_PHONES = 50;
const MAX_CACHED_CONTACTS = 10_000;

class TokenBucket {
  constructor(burst, perMinute, now) {
    this.capacity = burst;
    this.tokens = burst;
    this.refillPerMs = perMinute / 60_000;
    this.now = now;
    this.last = now();
  }

  /** Takes a token, or returns how many ms until one is available. */
  take() {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + (t - this.last) * this.refillPerMs);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - this.tokens) / this.refillPerMs);
  }
}

function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new ApiError(504, 'send_timeout', `WhatsApp did not accept the message within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class Sender {
  constructor({ session, store, logger, sendTimeoutMs, sendBurst, sendPerMinute, now = Date.now }) {
    this.session = session;
    this.store = store;
    this.logger = logger;
    this.sendTimeoutMs = sendTimeoutMs;
    this.limiter = new TokenBucket(sendBurst, sendPerMinute, now);
    this.now = now;
    this.contacts = new Map(); // phone → {exists, jid, at}
    this.inflight = new Map(); // idempotency key → promise of the response
    this.counters = { accepted: 0, rejected: 0, timed_out: 0, failed: 0 };
  }

  #openSocket() {
    if (this.session.state === 'restricted') {
      throw new ApiError(503, 'restricted', `the WhatsApp account is restricted (${this.session.reason})`);
    }
    const sock = this.session.socket;
    if (!sock) throw new ApiError(503, 'not_connected', `the WhatsApp session is ${this.session.state}`);
    return sock;
  }

  async lookup(sock, phones) {
    const t = this.now();
    const missing = phones.filter((p) => !(this.contacts.get(p)?.at > t - CONTACT_TTL_MS));
    if (missing.length > 0) {
      const found = (await sock.onWhatsApp(...missing.map((p) => p.slice(1)))) ?? [];
      for (const phone of missing) {
        // onWhatsApp leaves unregistered numbers out of its answer rather than saying exists:false.
        const hit = found.find((r) => r.exists && String(r.jid).split('@')[0].split(':')[0] === phone.slice(1));
        this.contacts.delete(phone); // re-inserted last, so the first key is always the oldest
        this.contacts.set(phone, { exists: Boolean(hit), jid: hit ? String(hit.jid) : null, at: t });
        if (this.contacts.size > MAX_CACHED_CONTACTS) this.contacts.delete(this.contacts.keys().next().value);
      }
    }
    return phones.map((phone) => ({ phone, exists: this.contacts.get(phone).exists, jid: this.contacts.get(phone).jid }));
  }

  async checkContacts(body) {
    const phones = body?.phones;
    if (!Array.isArray(phones) || phones.length === 0 || phones.length > MAX_CHECK_PHONES) {
      throw new ApiError(400, 'invalid_request', `phones: expected an array of 1 to ${MAX_CHECK_PHONES} E.164 numbers`);
    }
    const wrong = phones.find((p) => typeof p !== 'string' || !E164.test(p));
    if (wrong !== undefined) throw new ApiError(400, 'invalid_request', `phones: ${JSON.stringify(wrong)} is not an E.164 number`);
    return { results: await this.lookup(this.#openSocket(), [...new Set(phones)]) };
  }

  async send(body, idempotencyKey) {
    const request = parseSendRequest(body);
    if (idempotencyKey === undefined) return this.#send(request, null);
    if (typeof idempotencyKey !== 'string' || idempotencyKey.length === 0 || idempotencyKey.length > 200) {
      throw new ApiError(400, 'invalid_request', 'Idempotency-Key: expected 1 to 200 characters');
    }
    // Concurrent requests with one key share a single send.
    const running = this.inflight.get(idempotencyKey);
    if (running) return running;
    const promise = this.#sendOnce(request, idempotencyKey).finally(() => this.inflight.delete(idempotencyKey));
    this.inflight.set(idempotencyKey, promise);
    return promise;
  }

  /**
   * What became of the send with this Idempotency-Key: `in_flight` (still running here), `accepted`
   * (WhatsApp took it), `unconfirmed` (its id was reserved but no acceptance was recorded: the process
   * died or the send timed out or failed; `status` says what receipts show since), `not_sent` (an id
   * was reserved but its record never written, which happens before the socket is called), or 404
   * `unknown_key` (no id was ever reserved, so nothing was handed to WhatsApp).
   */
  async lookupSend(key) {
    if (typeof key !== 'string' || key.length === 0 || key.length > 200) {
      throw new ApiError(400, 'invalid_request', 'key: expected 1 to 200 characters');
    }
    const known = await this.store.getIdempotent(key);
    const running = this.inflight.has(key);
    if (!known && !running) throw new ApiError(404, 'unknown_key', `no send was ever started with Idempotency-Key ${key}`);
    const record = known?.reserved_id ? await this.store.get(known.reserved_id) : null;
    const state = running ? 'in_flight' : known.response ? 'accepted' : record ? 'unconfirmed' : 'not_sent';
    return { key, state, ...(record ? messageView(record) : { id: known?.reserved_id ?? null, status: null }) };
  }

  async #sendOnce(request, key) {
    const known = await this.store.getIdempotent(key);
    if (known?.response) return known.response;
    // A key whose first send timed out reuses its reserved id, so WhatsApp sees a resend, not a new message.
    return this.#send(request, key, known?.reserved_id ?? null);
  }

  async #send(request, key, reservedId = null) {
    const sock = this.#openSocket();
    const waitMs = this.limiter.take();
    if (waitMs > 0) {
      this.counters.rejected += 1;
      throw new ApiError(429, 'rate_limited', `send rate limit reached; retry in ${Math.ceil(waitMs / 1000)} s`, {
        'retry-after': String(Math.ceil(waitMs / 1000)),
      });
    }
    const [contact] = await this.lookup(sock, [request.to]);
    if (!contact.exists) {
      this.counters.rejected += 1;
      throw new ApiError(422, 'not_on_whatsapp', `${request.to} is not on WhatsApp`);
    }
    const id = reservedId ?? generateMessageIDV2(sock.user?.id);
    if (key) await this.store.putIdempotent(key, { reserved_id: id });
    const existing = await this.store.get(id);
    const now = () => new Date(this.now()).toISOString();
    if (!existing) await this.store.put({ id, to: request.to, status: 'pending', error_code: null, updated_at: now() });
    let sent;
    this.logger.debug({ id, key }, 'send handed to the socket');
    try {
      sent = await withTimeout(sock.sendMessage(contact.jid ?? request.jid, request.content, { messageId: id }), this.sendTimeoutMs);
    } catch (err) {
      if (err instanceof ApiError) {
        this.counters.timed_out += 1;
        this.logger.warn({ id, to: request.to }, 'send timed out');
        throw err;
      }
      this.counters.failed += 1;
      const record = await this.store.get(id);
      await this.store.put({ ...record, status: 'failed', error_code: String(err?.output?.statusCode ?? 'send_error'), updated_at: now() });
      this.logger.error({ id, err: err?.message }, 'send failed');
      if (this.session.state !== 'open') throw new ApiError(503, 'not_connected', `the session dropped during the send: ${err?.message}`);
      throw new ApiError(502, 'send_failed', `WhatsApp refused the message: ${err?.message}`);
    }
    // Keep the content for getMessage; re-read first so a receipt that raced the send is kept.
    const record = await this.store.get(id);
    await this.store.put({ ...record, message: sent?.message ?? null });
    const response = { id, to: request.to, status: 'pending' };
    if (key) await this.store.putIdempotent(key, { reserved_id: id, response });
    this.counters.accepted += 1;
    return response;
  }
}
