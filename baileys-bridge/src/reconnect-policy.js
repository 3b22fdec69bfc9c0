// What to do when the WhatsApp socket closes, decided by the close code alone plus a little history.
// Pure, so every branch is testable without a socket.
export const CONFLICT_LIMIT = 3; // 440s tolerated within CONFLICT_WINDOW_MS before giving up
export const CONFLICT_WINDOW_MS = 60_000;

/**
 * @param {number|undefined} code  lastDisconnect.error.output.statusCode
 * @param {{paired: boolean, qrShown: boolean, recentConflicts: number}} context
 * @returns {{action: 'now'|'backoff'|'stop', state?: string, reason: string, wipeAuth?: boolean}}
 */
export function decideReconnect(code, { paired, qrShown, recentConflicts }) {
  switch (code) {
    case 515:
      return { action: 'now', reason: 'restart_required' };
    case 401:
      return { action: 'stop', state: 'logged_out', reason: 'logged_out', wipeAuth: true };
    case 403:
      return { action: 'stop', state: 'restricted', reason: 'forbidden' };
    case 405:
      return { action: 'stop', state: 'restricted', reason: 'client_outdated' };
    case 411:
      return { action: 'stop', state: 'closed', reason: 'multidevice_mismatch' };
    case 440:
      // One replace often clears by itself; repeated ones mean another process holds these creds.
      return recentConflicts >= CONFLICT_LIMIT
        ? { action: 'stop', state: 'closed', reason: 'conflict' }
        : { action: 'backoff', reason: 'connection_replaced' };
    case 408:
      // Before pairing, a 408 after QRs were shown means nobody scanned: new QRs only when asked.
      if (!paired && qrShown) return { action: 'stop', state: 'closed', reason: 'qr_expired' };
      return { action: 'backoff', reason: 'connection_lost' };
    case 428:
      return { action: 'backoff', reason: 'connection_closed' };
    case 500:
      return { action: 'backoff', reason: 'bad_session' };
    case 503:
      return { action: 'backoff', reason: 'unavailable_service' };
    default:
      return { action: 'backoff', reason: `closed_${code ?? 'unknown'}` };
  }
}
