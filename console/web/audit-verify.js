// What the console can check itself about the log, with WebCrypto only: a
// tree checkpoint's signed note (c2sp.org/tlog-checkpoint, docs/witness.md),
// an RFC 9162 consistency proof, and the note's Ed25519 signature with a
// public key the auditor brings (from `acct keys export-public`, kept out of
// band). Nothing here trusts the server: a failure is reported, not hidden.

export function hexToBytes(hex) {
  const clean = String(hex || '').trim().toLowerCase();
  if (!/^([0-9a-f]{2})*$/.test(clean)) throw new Error('not hex');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(bytes) {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function base64ToBytes(b64) {
  const bin = atob(String(b64 || '').trim());
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i += 1) out[i] = bin.charCodeAt(i);
  return out;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

// The signed note: {origin, size, rootHex, time, body (the signed text),
// signatures: [{name, keyId (hex), signature (bytes)}]}.
export function parseCheckpoint(text) {
  const split = text.indexOf('\n\n');
  if (split < 0) throw new Error('not a signed note');
  const body = text.slice(0, split + 1);
  const lines = body.split('\n');
  const [origin, size, root] = lines;
  if (!origin || !/^[0-9]+$/.test(size || '') || !root) throw new Error('not a checkpoint');
  const timeLine = lines.find((l) => l.startsWith('time '));
  const signatures = [];
  for (const line of text.slice(split + 2).split('\n')) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) continue;
    const raw = base64ToBytes(m[2]);
    signatures.push({name: m[1], keyId: bytesToHex(raw.slice(0, 4)), signature: raw.slice(4)});
  }
  return {origin, size: Number(size), rootHex: bytesToHex(base64ToBytes(root)), time: timeLine ? timeLine.slice(5) : null,
    body, signatures};
}

// RFC 9162, 2.1.4.2: the tree of `first` leaves is a prefix of the tree of `second`.
export async function verifyConsistency(first, second, firstHex, secondHex, proofHex) {
  if (first === second) return proofHex.length === 0 && firstHex === secondHex;
  if (first < 1 || first > second || proofHex.length === 0) return false;
  const path = proofHex.map(hexToBytes);
  if ((first & (first - 1)) === 0) path.unshift(hexToBytes(firstHex));
  let fn = first - 1;
  let sn = second - 1;
  while (fn & 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0];
  let sr = path[0];
  const one = new Uint8Array([1]);
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if ((fn & 1) || fn === sn) {
      fr = await sha256(concat(one, c, fr));
      sr = await sha256(concat(one, c, sr));
      if (!(fn & 1)) {
        while (!(fn & 1) && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = await sha256(concat(one, sr, c));
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return bytesToHex(fr) === firstHex && bytesToHex(sr) === secondHex && sn === 0;
}

// The key as `acct keys export-public` prints it (ed25519:<64 hex>), or a
// signed-note verifier key (<name>+<key id hex>+<base64(0x01 || key)>).
export function parsePublicKey(text) {
  const s = String(text || '').trim();
  let m = /^ed25519:([0-9a-fA-F]{64})$/.exec(s);
  if (m) return hexToBytes(m[1]);
  m = /^[^+]+\+[0-9a-fA-F]{8}\+(\S+)$/.exec(s);
  if (m) {
    const raw = base64ToBytes(m[1]);
    if (raw.length === 33 && raw[0] === 1) return raw.slice(1);
  }
  throw new Error('bad key');
}

// The signed-note key id: SHA-256(name || 0x0A || 0x01 || key)[:4], hex.
export async function keyIdFor(name, key) {
  const digest = await sha256(concat(new TextEncoder().encode(name), new Uint8Array([0x0a, 0x01]), key));
  return bytesToHex(digest.slice(0, 4));
}

// {ok, keyIdMatches, supported}: the note's signature by this key.
export async function verifyNoteSignature(note, key) {
  const sig = note.signatures.find((s) => s.name === note.origin);
  if (!sig) return {ok: false, keyIdMatches: false, supported: true};
  const keyIdMatches = (await keyIdFor(note.origin, key)) === sig.keyId;
  let cryptoKey;
  try {
    cryptoKey = await crypto.subtle.importKey('raw', key, {name: 'Ed25519'}, false, ['verify']);
  } catch {
    return {ok: false, keyIdMatches, supported: false};
  }
  const ok = await crypto.subtle.verify({name: 'Ed25519'}, cryptoKey, sig.signature, new TextEncoder().encode(note.body));
  return {ok: ok && keyIdMatches, keyIdMatches, supported: true};
}
