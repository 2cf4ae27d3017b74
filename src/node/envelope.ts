// Envelope: what the node puts around an application payload in a normal log
// entry, so the proposing peer recognises its own entry when it is applied.
//
// Layout: u8 version (1) | u8 originLen | origin (UTF-8) | f64 seq | payload.
// An entry with zero bytes is Raft's own empty entry and carries no envelope.
const VERSION = 1;
const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export interface Envelope {
  /** origin: the id of the peer that proposed the entry. */
  readonly origin: string;
  /** seq: the proposer's request sequence number. */
  readonly seq: number;
  readonly payload: Uint8Array;
}

export function encodeEnvelope(origin: string, seq: number, payload: Uint8Array): Uint8Array {
  const o = enc.encode(origin);
  if (o.length > 255) throw new Error('origin id too long');
  const out = new Uint8Array(2 + o.length + 8 + payload.length);
  out[0] = VERSION;
  out[1] = o.length;
  out.set(o, 2);
  new DataView(out.buffer, out.byteOffset, out.byteLength).setFloat64(2 + o.length, seq);
  out.set(payload, 2 + o.length + 8);
  return out;
}

/** decodeEnvelope returns undefined for data that is not a valid envelope. */
export function decodeEnvelope(data: Uint8Array): Envelope | undefined {
  if (data.length < 10 || data[0] !== VERSION) return undefined;
  const n = data[1]!;
  if (data.length < 2 + n + 8) return undefined;
  let origin: string;
  try {
    origin = dec.decode(data.subarray(2, 2 + n));
  } catch {
    return undefined;
  }
  const seq = new DataView(data.buffer, data.byteOffset, data.byteLength).getFloat64(2 + n);
  if (!Number.isSafeInteger(seq)) return undefined;
  return { origin, seq, payload: data.subarray(2 + n + 8) };
}

/** envelopeOverheadBytes is the envelope's size beyond the payload for an origin id. */
export function envelopeOverheadBytes(origin: string): number {
  return 2 + enc.encode(origin).length + 8;
}
