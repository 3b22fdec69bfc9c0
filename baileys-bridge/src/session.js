// One WhatsApp session: connects through an injected socket factory, applies the reconnect policy by
// close code, and turns socket events into outbox webhooks. Only one socket is ever alive: the old one
// is always ended (listeners removed) before a new one is created.
import { EventEmitter } from 'node:events';
import { jidDecode } from 'baileys';
import { backoffDelay } from './backoff.js';
import { decideReconnect, CONFLICT_WINDOW_MS } from './reconnect-policy.js';
import { ApiError } from './errors.js';
import { inboundMessageData, receiptStatus } from './inbound.js';

const FIRST_QR_TTL_MS = 60_000; // Baileys' defaults: the first QR lives 60 s, later ones 20 s
const NEXT_QR_TTL_MS = 20_000;
const SEEN_IDS_LIMIT = 2000;

export function phoneFromJid(jid) {
  const decoded = jid ? jidDecode(jid) : undefined;
  return decoded?.user && /^\d+$/.test(decoded.user) ? `+${decoded.user}` : null;
}

export class Session {
  constructor({ factory, store, outbox, logger, reconnectMinMs, reconnectMaxMs, schedule, random, now }) {
    this.factory = factory;
    this.store = store;
    this.outbox = outbox;
    this.logger = logger;
    this.reconnectMinMs = reconnectMinMs;
    this.reconnectMaxMs = reconnectMaxMs;
    this.schedule = schedule ?? ((ms, fn) => setTimeout(fn, ms));
    this.cancel = (handle) => clearTimeout(handle);
    this.random = random ?? Math.random;
    this.now = now ?? Date.now;
    this.events = new EventEmitter(); // 'state', 'close', 'socket': for observers such as tests
    this.state = 'closed';
    this.reason = 'not_started';
    this.current = null; // {sock, isPaired, qrShown, generation}
    this.generation = 0;
    this.timer = null;
    this.nextReconnectAt = null;
    this.reconnectAttempts = 0;
    this.conflicts = [];
    this.lastDisconnect = null;
    this.qr = null;
    this.me = null;
    this.restriction = null;
    this.timelock = null;
    this.seenIds = new Set();
    this.pending = Promise.resolve();
    this.counters = { received: 0, ignored: 0, statuses: 0, sockets_created: 0 };
  }

  get socket() {
    return this.state === 'open' ? this.current?.sock ?? null : null;
  }

  /** At process start: dial only when a saved session exists. */
  async boot() {
    if (await this.factory.hasSavedSession()) {
      this.logger.info('saved session found: connecting');
      await this.#connect('saved_session');
    } else {
      this.logger.info('no saved session: not dialing WhatsApp until POST /v1/session/start');
    }
  }

  async start() {
    if (this.state === 'open') throw new ApiError(409, 'already_connected', 'the session is already open');
    if (this.current && (this.state === 'connecting' || this.state === 'qr')) return this.state;
    await this.#connect('start_requested');
    return this.state;
  }

  async restart() {
    await this.#connect('restart_requested');
    return this.state;
  }

  async logout() {
    this.#cancelTimer();
    const current = this.current;
    this.current = null;
    this.generation += 1;
    if (current) {
      // Listeners go first, so the 401 close that logout causes is not fed to the reconnect policy.
      current.sock.ev.removeAllListeners();
      if (this.state === 'open') {
        // Tell WhatsApp to unlink this device; the session is wiped locally whatever it answers.
        let timer;
        const gaveUp = new Promise((resolve) => {
          timer = setTimeout(resolve, 5000);
        });
        await Promise.race([current.sock.logout().catch(() => undefined), gaveUp]);
        clearTimeout(timer);
      }
      try {
        current.sock.end(undefined);
      } catch (err) {
        this.logger.warn({ err: err.message }, 'ending the socket failed');
      }
    }
    await this.factory.wipe();
    this.qr = null;
    this.me = null;
    this.#setState('logged_out', 'logout_requested');
    return this.state;
  }

  async stop() {
    this.#cancelTimer();
    this.#endCurrent();
  }

  /** Resolves once every socket event received so far has been handled. */
  async idle() {
    let seen;
    do {
      seen = this.pending;
      await seen;
    } while (seen !== this.pending);
  }

  qrInfo() {
    return this.qr;
  }

  async getMessage(key) {
    const record = key?.id ? await this.store.get(key.id) : null;
    return record?.message ?? undefined;
  }

  #cancelTimer() {
    if (this.timer !== null) this.cancel(this.timer);
    this.timer = null;
    this.nextReconnectAt = null;
  }

  #endCurrent() {
    const old = this.current;
    this.current = null;
    if (!old) return;
    old.sock.ev.removeAllListeners();
    try {
      old.sock.end(undefined);
    } catch (err) {
      this.logger.warn({ err: err.message }, 'ending the old socket failed');
    }
  }

  async #connect(reason) {
    this.#cancelTimer();
    this.#endCurrent();
    const generation = ++this.generation;
    this.qr = null;
    this.#setState('connecting', reason);
    let created;
    try {
      created = await this.factory.create({ getMessage: (key) => this.getMessage(key) });
    } catch (err) {
      this.logger.error({ err }, 'could not create a WhatsApp socket');
      if (generation === this.generation) this.#setState('closed', 'connect_failed');
      throw new ApiError(500, 'connect_failed', `could not create a WhatsApp socket: ${err.message}`);
    }
    const { sock, isPaired } = created;
    if (generation !== this.generation) {
      sock.ev.removeAllListeners();
      sock.end(undefined);
      return;
    }
    this.counters.sockets_created += 1;
    this.current = { sock, isPaired, qrShown: false, generation };
    // Events are handled one after another, in the order the socket emitted them.
    const guard = (fn) => (arg) => {
      this.pending = this.pending
        .then(() => (this.current?.generation === generation ? fn(arg) : undefined))
        .catch((err) => this.logger.error({ err }, 'session event handler failed'));
    };
    sock.ev.on('connection.update', guard((u) => this.#onConnectionUpdate(u)));
    sock.ev.on('messages.upsert', guard((u) => this.#onMessagesUpsert(u)));
    sock.ev.on('messages.update', guard((u) => this.#onMessagesUpdate(u)));
    this.events.emit('socket', sock);
  }

  async #onConnectionUpdate(update) {
    if (update.qr) {
      const ttl = this.current.qrShown ? NEXT_QR_TTL_MS : FIRST_QR_TTL_MS;
      this.current.qrShown = true;
      this.qr = { qr: update.qr, expires_at: new Date(this.now() + ttl).toISOString() };
      this.#setState('qr', 'scan_required');
    }
    if (update.reachoutTimeLock) {
      // WhatsApp blocks messages to new contacts for a while; surfaced so the gateway can fail over.
      const lock = update.reachoutTimeLock;
      this.timelock = lock.isActive
        ? { enforcement: lock.enforcementType ?? null, ends_at: lock.timeEnforcementEnds ? new Date(lock.timeEnforcementEnds).toISOString() : null }
        : null;
      this.logger.warn({ timelock: this.timelock }, 'reach-out timelock update');
    }
    if (update.connection === 'open') {
      this.reconnectAttempts = 0;
      this.qr = null;
      this.me = { phone: phoneFromJid(this.current.sock.user?.id) };
      this.#setState('open', null);
    } else if (update.connection === 'close') {
      await this.#onClose(update.lastDisconnect?.error?.output?.statusCode);
    }
  }

  async #onClose(code) {
    const at = this.now();
    this.lastDisconnect = { code: code ?? null, at: new Date(at).toISOString() };
    this.conflicts = this.conflicts.filter((t) => at - t < CONFLICT_WINDOW_MS);
    if (code === 440) this.conflicts.push(at);
    const { isPaired, qrShown } = this.current;
    const decision = decideReconnect(code, { paired: isPaired(), qrShown, recentConflicts: this.conflicts.length });
    this.#endCurrent();
    this.qr = null;
    let delayMs = 0;
    if (decision.action === 'backoff') {
      this.reconnectAttempts += 1;
      delayMs = backoffDelay(this.reconnectAttempts, this.reconnectMinMs, this.reconnectMaxMs, this.random);
    }
    this.logger.warn({ code, ...decision, delay_ms: delayMs, attempts: this.reconnectAttempts }, 'WhatsApp socket closed');
    this.events.emit('close', { code, decision, delayMs });
    if (decision.action === 'now') {
      await this.#connect(decision.reason);
    } else if (decision.action === 'backoff') {
      this.#setState('connecting', decision.reason);
      this.nextReconnectAt = new Date(at + delayMs).toISOString();
      const handle = this.schedule(delayMs, () => {
        if (this.timer !== handle) return; // cancelled by a start/restart/logout in the meantime
        this.timer = null;
        this.#connect(decision.reason).catch((err) => this.logger.error({ err }, 'reconnect failed'));
      });
      this.timer = handle;
    } else {
      if (decision.wipeAuth) await this.factory.wipe();
      if (decision.state === 'logged_out') this.me = null;
      this.#setState(decision.state, decision.reason);
    }
  }

  async #onMessagesUpsert({ messages, type }) {
    // 'append' is history and our own sends echoed back; only 'notify' is new traffic.
    if (type !== 'notify') {
      this.counters.ignored += messages?.length ?? 0;
      return;
    }
    for (const msg of messages ?? []) {
      const data = await inboundMessageData(msg, this.current?.sock);
      if (!data || this.seenIds.has(data.id)) {
        this.counters.ignored += 1;
        this.logger.debug({ id: msg?.key?.id, duplicate: Boolean(data) }, 'upsert not forwarded (own, broadcast, protocol or duplicate)');
        continue;
      }
      this.seenIds.add(data.id);
      if (this.seenIds.size > SEEN_IDS_LIMIT) this.seenIds.delete(this.seenIds.values().next().value);
      this.counters.received += 1;
      await this.outbox.enqueue('message.received', data);
    }
  }

  async #onMessagesUpdate(updates) {
    for (const { key, update } of updates ?? []) {
      const mapped = receiptStatus(key, update);
      if (!mapped) continue;
      const at = new Date(this.now()).toISOString();
      if (mapped.errorCode === '463') {
        // Restricted for new chats: Baileys warns a retry counts as another reach-out, so none is made.
        this.restriction = { code: '463', at, message_id: key.id };
        this.logger.warn({ id: key.id }, 'send refused with 463 (account restricted for new chats); not retried');
      }
      const record = await this.store.applyStatus(key.id, mapped.status, mapped.errorCode, at);
      if (!record) continue;
      this.counters.statuses += 1;
      await this.outbox.enqueue('message.status', {
        id: key.id,
        status: mapped.status,
        error_code: mapped.errorCode,
        at,
      });
    }
  }

  #setState(state, reason) {
    if (this.state === state && this.reason === reason) return;
    this.state = state;
    this.reason = reason;
    this.logger.info({ state, reason }, 'session state');
    this.events.emit('state', { state, reason });
    this.outbox
      .enqueue('session.status', { state, reason })
      .catch((err) => this.logger.error({ err }, 'could not persist session.status webhook'));
  }
}
