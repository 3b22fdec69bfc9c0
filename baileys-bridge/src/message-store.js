// Persisted outbound messages: their status (for GET /v1/messages/:id), their content (for Baileys'
// getMessage, so WhatsApp's decrypt-retry can be answered after a restart) and idempotency keys.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { BufferJSON } from 'baileys';
import { writeFileDurably } from './atomic-file.js';

// Receipts can arrive out of order (read before delivered); a status never moves backwards.
const RANK = { pending: 1, sent: 2, delivered: 3, read: 4, played: 5 };

const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/;

export class MessageStore {
  constructor(dataDir) {
    this.messagesDir = path.join(dataDir, 'messages');
    this.keysDir = path.join(dataDir, 'idempotency');
  }

  #messageFile(id) {
    return SAFE_ID.test(id) ? path.join(this.messagesDir, `${id}.json`) : null;
  }

  async get(id) {
    const file = this.#messageFile(id);
    if (!file) return null;
    try {
      return JSON.parse(await readFile(file, 'utf8'), BufferJSON.reviver);
    } catch (err) {
      if (err.code === 'ENOENT') return null;
      throw err;
    }
  }

  async put(record) {
    const file = this.#messageFile(record.id);
    if (!file) throw new Error(`message id not storable: ${record.id}`);
    await writeFileDurably(file, JSON.stringify(record, BufferJSON.replacer));
  }

  /** Apply a receipt; returns the updated record, or null when unknown or not an advance. */
  async applyStatus(id, status, errorCode, at) {
    const record = await this.get(id);
    if (!record) return null;
    const advances = status === 'failed' ? RANK[record.status] <= RANK.sent : RANK[status] > (RANK[record.status] ?? 0);
    if (!advances) return null;
    const updated = { ...record, status, error_code: errorCode, updated_at: at };
    await this.put(updated);
    return updated;
  }

  #keyFile(key) {
    return path.join(this.keysDir, `${createHash('sha256').update(key).digest('hex')}.json`);
  }

  async getIdempotent(key) {
    try {
      return JSON.parse(await readFile(this.#keyFile(key), 'utf8'));
    } catch (err) {
      if (err.code === 'ENOENT') return null;
      throw err;
    }
  }

  async putIdempotent(key, value) {
    await writeFileDurably(this.#keyFile(key), JSON.stringify(value));
  }
}

/** Public view of a stored record (no message content). */
export function messageView(record) {
  return {
    id: record.id,
    to: record.to,
    status: record.status,
    error_code: record.error_code ?? null,
    updated_at: record.updated_at,
  };
}
