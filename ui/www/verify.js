// verify.js: checking ledger records in the browser, with no help from the server's code.
//  - RFC 6962 / RFC 9162 section 2.1: leaf hash SHA-256(0x00 || leaf), node hash
//    SHA-256(0x01 || left || right); inclusion proof verification as RFC 9162 2.1.3.2.
//  - C2SP signed-note + tlog-checkpoint: the log's Ed25519 signature over the note body,
//    key id = SHA-256(name || 0x0A || 0x01 || public key)[:4].
//  - C2SP tlog-cosignature (cosignature/v1): a witness signs
//    "cosignature/v1\ntime <T>\n" || body; its signature line holds
//    key id (4, SHA-256(name || 0x0A || 0x04 || key)[:4]) || T (8, big-endian) || signature (64).
// SHA-256 and Ed25519 are WebCrypto's (crypto.subtle).
const enc = new TextEncoder();

export function b64decode(s) {
  const bin = atob(s.trim());
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
export function b64encode(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}
export function hex(bytes) { return Array.from(bytes, b => b.toString(16).padStart(2, '0')).join(''); }
function cat(...parts) {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
function eq(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}
export async function sha256(bytes) { return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)); }
export async function leafHash(leaf) { return sha256(cat(Uint8Array.of(0), leaf)); }
async function nodeHash(l, r) { return sha256(cat(Uint8Array.of(1), l, r)); }

// RFC 9162 2.1.3.2: is `hash` (a leaf hash) at `index` in the tree of `size` with `root`?
export async function verifyInclusion(index, size, hash, proof, root) {
  let fn = BigInt(index), sn = BigInt(size) - 1n;
  if (BigInt(index) >= BigInt(size)) return false;
  let r = hash;
  for (const p of proof) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n && eq(r, root);
}

// A verifier key line "name+hexid+base64(type || key)".
export async function parseVkey(line) {
  const t = line.trim();
  const a = t.indexOf('+'), b = t.indexOf('+', a + 1);
  if (a <= 0 || b < 0) throw new Error('a key looks like name+1234abcd+base64');
  const name = t.slice(0, a), id = t.slice(a + 1, b), k = b64decode(t.slice(b + 1));
  if (!/^[0-9a-f]{8}$/.test(id) || k.length !== 33) throw new Error(`bad key for ${name}`);
  const type = k[0];
  if (type !== 0x01 && type !== 0x04) throw new Error(`key type ${type} of ${name} is not Ed25519 (0x01) or cosignature/v1 (0x04)`);
  const want = (await sha256(cat(enc.encode(name), Uint8Array.of(0x0a), k))).slice(0, 4);
  if (hex(want) !== id) throw new Error(`the key id of ${name} does not match its key`);
  return { name, id: want, type, pub: k.slice(1), line: t };
}

// A signed checkpoint note -> {body (bytes), origin, size, root, sigs: [{name, bytes}]}.
export function parseCheckpoint(text) {
  const cut = text.indexOf('\n\n');
  if (cut < 0) throw new Error('not a signed note (no blank line)');
  const bodyText = text.slice(0, cut + 1);
  const lines = bodyText.split('\n');
  if (lines.length < 4) throw new Error('a checkpoint has origin, size and root lines');
  const sigs = [];
  for (const l of text.slice(cut + 2).split('\n')) {
    if (!l) continue;
    if (!l.startsWith('\u2014 ')) throw new Error('a signature line starts with an em dash');
    const sp = l.lastIndexOf(' ');
    sigs.push({ name: l.slice(2, sp), bytes: b64decode(l.slice(sp + 1)) });
  }
  return { body: enc.encode(bodyText), origin: lines[0], size: BigInt(lines[1]), root: b64decode(lines[2]), sigs };
}

async function edVerify(pub, sig, msg) {
  const key = await crypto.subtle.importKey('raw', pub, { name: 'Ed25519' }, false, ['verify']);
  return crypto.subtle.verify({ name: 'Ed25519' }, key, sig, msg);
}

// Check the log's signature with `logKey` and each pinned witness's cosignature.
// Returns [{what, ok, detail}].
export async function verifyCheckpoint(cp, logKey, witnessKeys) {
  const out = [];
  const mine = cp.sigs.filter(s => s.name === logKey.name && s.bytes.length === 68 && eq(s.bytes.slice(0, 4), logKey.id));
  let ok = false;
  for (const s of mine) if (await edVerify(logKey.pub, s.bytes.slice(4), cp.body)) ok = true;
  out.push({ what: `log signature by ${logKey.name} (key ${hex(logKey.id)})`, ok,
             detail: mine.length ? (ok ? '' : 'the signature does not verify') : 'no signature by the pinned key' });
  if (cp.origin !== logKey.name) out.push({ what: 'checkpoint origin is the pinned log', ok: false, detail: cp.origin });
  for (const w of witnessKeys) {
    const cs = cp.sigs.filter(s => s.name === w.name && s.bytes.length === 76 && eq(s.bytes.slice(0, 4), w.id));
    let good = false, when = '';
    for (const s of cs) {
      const t = new DataView(s.bytes.buffer, s.bytes.byteOffset + 4, 8).getBigUint64(0);
      const msg = cat(enc.encode(`cosignature/v1\ntime ${t}\n`), cp.body);
      if (await edVerify(w.pub, s.bytes.slice(12), msg)) { good = true; when = new Date(Number(t) * 1000).toISOString(); }
    }
    out.push({ what: `cosignature by witness ${w.name}`, ok: good,
               detail: cs.length ? (good ? `signed at ${when}` : 'the cosignature does not verify') : 'this checkpoint has no cosignature from this witness' });
  }
  return out;
}
