// An in-process stand-in for a Baileys socket (BRIDGE_FAKE_SOCKET=1 and the Node tests). It has the
// surface the session uses (ev, user, sendMessage, onWhatsApp, logout, end) and is driven by hand.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { access, rm } from 'node:fs/promises';
import path from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';

export function closeError(code) {
  // Shaped like the Boom errors Baileys puts in lastDisconnect.
  const err = new Error(`fake close ${code}`);
  err.output = { statusCode: code };
  return err;
}

export class FakeSocket {
  constructor({ phone = '15550001111' } = {}) {
    this.ev = new EventEmitter();
    this.user = undefined;
    this.phone = phone;
    this.ended = false;
    this.sent = [];
    this.lookups = [];
    // Tests replace this to make a send hang or fail.
    this.sendImpl = null;
  }

  emitConnection(update) {
    if (update.connection === 'open') this.user = { id: `${this.phone}:1@s.whatsapp.net`, name: 'fake' };
    this.ev.emit('connection.update', update);
  }

  close(code) {
    this.emitConnection({ connection: 'close', lastDisconnect: { error: closeError(code), date: new Date() } });
  }

  async sendMessage(jid, content, options = {}) {
    this.sent.push({ jid, content, options });
    if (this.sendImpl) return this.sendImpl(jid, content, options);
    const id = options.messageId ?? randomBytes(8).toString('hex').toUpperCase();
    return { key: { id, remoteJid: jid, fromMe: true }, message: { conversation: content.text ?? '' }, status: 1 };
  }

  async onWhatsApp(...phones) {
    this.lookups.push(...phones);
    return phones
      .map((p) => p.replace(/\D/g, ''))
      .filter((digits) => !digits.endsWith('0000'))
      .map((digits) => ({ jid: `${digits}@s.whatsapp.net`, exists: true }));
  }

  async logout() {
    this.close(401);
  }

  end() {
    this.ended = true;
  }
}

/** A factory handing out FakeSockets; "a saved session" is a marker file written on first open. */
export function createFakeFactory({ dataDir }) {
  const marker = path.join(dataDir, 'fake-session.json');
  const factory = {
    kind: 'fake',
    sockets: [],
    get current() {
      return factory.sockets.at(-1) ?? null;
    },
    async hasSavedSession() {
      return access(marker).then(
        () => true,
        () => false,
      );
    },
    async create() {
      const sock = new FakeSocket();
      let paired = await factory.hasSavedSession();
      sock.ev.on('connection.update', (update) => {
        if (update.connection === 'open' && !paired) {
          paired = true;
          // Synchronous so the session never sees 'open' before the saved-session marker exists.
          mkdirSync(dataDir, { recursive: true });
          writeFileSync(marker, JSON.stringify({ paired_at: new Date().toISOString() }));
        }
      });
      factory.sockets.push(sock);
      queueMicrotask(() => sock.emitConnection({ connection: 'connecting' }));
      return { sock, isPaired: () => paired };
    },
    async wipe() {
      await rm(marker, { force: true });
    },
  };
  return factory;
}
