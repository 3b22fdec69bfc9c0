// Translate Baileys messages and receipts into the webhook payloads of the contract. WhatsApp types
// (JIDs, protos) stop here: the gateway sees E.164 numbers and the normalised status words.
import { getContentType, isJidGroup, isLidUser, jidDecode, normalizeMessageContent } from 'baileys';

const TYPE_BY_CONTENT = {
  conversation: 'text',
  extendedTextMessage: 'text',
  imageMessage: 'image',
  documentMessage: 'document',
  documentWithCaptionMessage: 'document',
  audioMessage: 'audio',
  videoMessage: 'video',
  ptvMessage: 'video',
  stickerMessage: 'sticker',
  locationMessage: 'location',
  liveLocationMessage: 'location',
  contactMessage: 'contact',
  contactsArrayMessage: 'contact',
};
const MEDIA_TYPES = new Set(['image', 'document', 'audio', 'video', 'sticker']);
// Protocol and bookkeeping messages carry nothing a person wrote.
const SKIPPED_CONTENT = new Set(['protocolMessage', 'senderKeyDistributionMessage', 'reactionMessage', 'pollUpdateMessage']);

// WebMessageInfo.Status: ERROR 0, PENDING 1, SERVER_ACK 2, DELIVERY_ACK 3, READ 4, PLAYED 5.
const STATUS_NAMES = { 0: 'failed', 2: 'sent', 3: 'delivered', 4: 'read', 5: 'played' };

function e164(jid) {
  const user = jid ? jidDecode(jid)?.user : undefined;
  return user && /^\d+$/.test(user) && !isLidUser(jid) ? `+${user}` : null;
}

async function phoneForLid(sock, lid) {
  try {
    const pn = await sock?.signalRepository?.lidMapping?.getPNForLID?.(lid);
    return pn ? e164(pn) : null;
  } catch {
    return null;
  }
}

/** The `message.received` data for one upserted message, or null when it is not for the gateway. */
export async function inboundMessageData(msg, sock) {
  const key = msg?.key;
  if (!key?.id || key.fromMe || !key.remoteJid) return null;
  const chatJid = key.remoteJid;
  if (chatJid === 'status@broadcast' || chatJid.endsWith('@newsletter') || chatJid.endsWith('@broadcast')) return null;
  const content = normalizeMessageContent(msg.message);
  if (!content) return null;
  const contentType = getContentType(content);
  if (!contentType || SKIPPED_CONTENT.has(contentType)) return null;

  const isGroup = Boolean(isJidGroup(chatJid));
  const senderJid = isGroup ? key.participant : chatJid;
  const senderAlt = isGroup ? key.participantAlt : key.remoteJidAlt;
  let fromLid = null;
  let from = e164(senderJid);
  if (senderJid && isLidUser(senderJid)) {
    // v7 addresses many chats by LID; the phone number comes from remoteJidAlt or the LID mapping.
    fromLid = senderJid;
    from = e164(senderAlt) ?? (await phoneForLid(sock, senderJid));
  }
  const type = TYPE_BY_CONTENT[contentType] ?? 'other';
  const body = content[contentType];
  const inner = contentType === 'documentWithCaptionMessage' ? body?.message?.documentMessage : body;
  const text =
    typeof body === 'string' ? body : (inner?.text ?? inner?.caption ?? null);
  const media = MEDIA_TYPES.has(type)
    ? {
        mimetype: inner?.mimetype ?? null,
        filename: inner?.fileName ?? null,
        size: inner?.fileLength != null ? Number(inner.fileLength) : null,
      }
    : null;
  const seconds = Number(msg.messageTimestamp ?? 0);
  return {
    id: key.id,
    chat: isGroup ? chatJid : (from ?? chatJid),
    from: from ?? senderJid ?? null,
    from_lid: fromLid,
    push_name: msg.pushName ?? null,
    is_group: isGroup,
    timestamp: new Date((seconds > 0 ? seconds : Date.now() / 1000) * 1000).toISOString(),
    type,
    text,
    media,
  };
}

/** {status, errorCode} for a receipt on one of our own messages, or null when there is nothing to report. */
export function receiptStatus(key, update) {
  if (!key?.id || !key.fromMe || update?.status == null) return null;
  const status = STATUS_NAMES[update.status];
  if (!status) return null;
  const errorCode = status === 'failed' ? String(update.messageStubParameters?.[0] ?? 'unknown') : null;
  return { status, errorCode };
}
