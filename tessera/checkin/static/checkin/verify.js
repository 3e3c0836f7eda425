// Offline check of Tessera ticket credentials in the browser: the same format and the same
// order of checks as tessera/tickets/credentials.py (see docs/ticket-credential.md), with
// Ed25519, HKDF and HMAC from WebCrypto.

export const PREFIX = "TS1:";
export const ROTATING_PREFIX = "TR1:";
export const PASS_PREFIX = "TP1:";
const PASS_HEAD = 22;
const PASS_ENTRY = 26;
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const VALUES = new Map([...ALPHABET].map((c, i) => [c, i]));
const SIGNED_LENGTH = 39;
const TOTAL_LENGTH = 103;
const B45_LENGTH = 155;
const DIGITS = 6;
const MINUTE_MS = 60000;
const LEEWAY_MS = 2 * MINUTE_MS; // as services.CLOCK_LEEWAY
const enc = new TextEncoder();

export class Malformed extends Error {}

export function base45Decode(text) {
  const values = [];
  for (const ch of text) {
    const v = VALUES.get(ch);
    if (v === undefined) throw new Malformed("not a Base45 character");
    values.push(v);
  }
  if (values.length % 3 === 1) throw new Malformed("dangling character");
  const out = [];
  for (let i = 0; i < values.length; i += 3) {
    if (i + 2 < values.length) {
      const n = values[i] + values[i + 1] * 45 + values[i + 2] * 2025;
      if (n > 0xffff) throw new Malformed("group out of range");
      out.push(n >> 8, n & 0xff);
    } else {
      const n = values[i] + values[i + 1] * 45;
      if (n > 0xff) throw new Malformed("group out of range");
      out.push(n);
    }
  }
  return new Uint8Array(out);
}

function u48(b, o) {
  return (b[o] * 2 ** 40) + (b[o + 1] * 2 ** 32) + ((b[o + 2] << 24) >>> 0) + (b[o + 3] << 16) + (b[o + 4] << 8) + b[o + 5];
}
function u32(b, o) {
  return ((b[o] << 24) >>> 0) + (b[o + 1] << 16) + (b[o + 2] << 8) + b[o + 3];
}

// {payload, signed, signature} of a TS1 text, or throws Malformed.
export function decodeCredential(text) {
  if (typeof text !== "string" || !text.startsWith(PREFIX)) throw new Malformed("not a Tessera credential");
  const raw = base45Decode(text.slice(PREFIX.length));
  if (raw.length !== TOTAL_LENGTH) throw new Malformed("wrong length");
  if (raw[0] !== 1) throw new Malformed("unknown format");
  const payload = {
    ticketId: u48(raw, 1),
    sessionId: u32(raw, 7),
    unitId: u48(raw, 11),
    notBefore: u32(raw, 17) * MINUTE_MS,
    notAfter: u32(raw, 21) * MINUTE_MS,
    holderDigest: raw.slice(25, 33),
    version: (raw[33] << 8) + raw[34],
    keyId: u32(raw, 35),
  };
  return { payload, signed: raw.slice(0, SIGNED_LENGTH), signature: raw.slice(SIGNED_LENGTH) };
}

// {pass, signed, signature} of a TP1 pass text (tessera/tickets/pass_credentials.py), or
// throws Malformed. Each entry: {sessionId, ticketId, unitId, version, notBefore, notAfter}.
export function decodePass(text) {
  if (typeof text !== "string" || !text.startsWith(PASS_PREFIX)) throw new Malformed("not a Tessera pass");
  const raw = base45Decode(text.slice(PASS_PREFIX.length));
  if (raw.length < PASS_HEAD + PASS_ENTRY + 64) throw new Malformed("too short");
  if (raw[0] !== 1) throw new Malformed("unknown format");
  const count = raw[21];
  if (count === 0 || raw.length !== PASS_HEAD + count * PASS_ENTRY + 64) throw new Malformed("wrong length");
  const entries = [];
  for (let i = 0; i < count; i++) {
    const o = PASS_HEAD + i * PASS_ENTRY;
    entries.push({
      sessionId: u32(raw, o),
      ticketId: u48(raw, o + 4),
      unitId: u48(raw, o + 10),
      version: (raw[o + 16] << 8) + raw[o + 17],
      notBefore: u32(raw, o + 18) * MINUTE_MS,
      notAfter: u32(raw, o + 22) * MINUTE_MS,
    });
  }
  const pass = {
    passId: u48(raw, 1),
    version: (raw[7] << 8) + raw[8],
    holderDigest: raw.slice(9, 17),
    keyId: u32(raw, 17),
    entries,
  };
  const end = raw.length - 64;
  return { pass, signed: raw.slice(0, end), signature: raw.slice(end) };
}

// A pass judged at ctx's session: {reason} to refuse, or {payload} of its entry for this
// session, shaped as a ticket credential's payload (the same checks follow).
async function passEntry(ctx, text) {
  let decoded;
  try {
    decoded = decodePass(text);
  } catch (e) {
    return { reason: "malformed" };
  }
  const { pass, signed, signature } = decoded;
  const key = ctx.passKeys.get(pass.keyId);
  if (!key) return { reason: "unknown_key" };
  if (!(await crypto.subtle.verify({ name: "Ed25519" }, key, signature, signed))) return { reason: "forged" };
  const entry = pass.entries.find((e) => e.sessionId === ctx.sessionId);
  if (!entry) return { reason: "wrong_session" };
  return { payload: { ...entry, holderDigest: pass.holderDigest, keyId: pass.keyId, passId: pass.passId } };
}

// [credential text, code] of a TR1 rotating text, or null.
export function splitRotating(text) {
  if (typeof text !== "string" || !text.startsWith(ROTATING_PREFIX)) return null;
  const body = text.slice(ROTATING_PREFIX.length);
  if (body.length !== B45_LENGTH + DIGITS) return null;
  const code = body.slice(B45_LENGTH);
  if (!/^[0-9]{6}$/.test(code)) return null;
  return [PREFIX + body.slice(0, B45_LENGTH), code];
}

function fromBase64(s) {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

// What a scanner needs, built from a session bundle (GET /api/v1/checkin/sessions/{id}/bundle).
export async function buildContext(bundle) {
  const keys = new Map();
  for (const k of bundle.keys) {
    keys.set(k.kid, await crypto.subtle.importKey("raw", fromBase64(k.public_key), { name: "Ed25519" }, false, ["verify"]));
  }
  const passKeys = new Map();
  for (const k of bundle.pass_keys || []) {
    passKeys.set(k.kid, await crypto.subtle.importKey("raw", fromBase64(k.public_key), { name: "Ed25519" }, false, ["verify"]));
  }
  const revoked = new Map();
  for (const [ticketId, version] of bundle.revocations) revoked.set(ticketId, Math.max(version, revoked.get(ticketId) || 0));
  const places = new Map();
  const names = new Map();
  const placeLabels = new Map(bundle.places || []);
  const gateNames = new Map((bundle.gates || []).map((g) => [g.id, g.name]));
  for (const row of bundle.tickets) {
    places.set(row[1], [row[2], row[3]]);
    if (row.length > 4) names.set(row[0], row[4]);
  }
  const gateLists = new Map();
  for (const list of bundle.lists) {
    for (const gate of list.gates) {
      if (!gateLists.has(gate)) gateLists.set(gate, []);
      gateLists.get(gate).push([new Set(list.sections), new Set(list.zones)]);
    }
  }
  const identities = new Map();
  for (const [ticketId, name, docType, masked] of bundle.identities || []) identities.set(ticketId, { name, docType, masked });
  let rotationKey = null;
  if (bundle.rotation_key) {
    rotationKey = await crypto.subtle.importKey("raw", fromBase64(bundle.rotation_key), "HKDF", false, ["deriveBits"]);
  }
  return {
    sessionId: bundle.session_id,
    settings: bundle.settings,
    keys,
    passKeys,
    revoked,
    places,
    placeLabels,
    gateNames,
    names,
    realName: Boolean(bundle.real_name),
    identities,
    gateLists,
    hasLists: bundle.lists.length > 0,
    rotationKey,
    ticketKeys: new Map(),
  };
}

async function ticketKey(ctx, ticketId) {
  let key = ctx.ticketKeys.get(ticketId);
  if (!key) {
    const info = new Uint8Array(6);
    let n = ticketId;
    for (let i = 5; i >= 0; i--) { info[i] = n % 256; n = Math.floor(n / 256); }
    const bits = await crypto.subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt: enc.encode("tessera rotating code v1"), info },
      ctx.rotationKey, 256);
    key = await crypto.subtle.importKey("raw", bits, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    ctx.ticketKeys.set(ticketId, key);
  }
  return key;
}

async function codeAt(key, counter) {
  const msg = new Uint8Array(8);
  let n = counter;
  for (let i = 7; i >= 0; i--) { msg[i] = n % 256; n = Math.floor(n / 256); }
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, msg));
  const offset = mac[31] & 0x0f;
  const value = (((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3]) >>> 0;
  return String(value % 1000000).padStart(DIGITS, "0");
}

// Whether ``code`` belongs to the step of ``nowMs`` or one step either side.
export async function checkRotatingCode(ctx, ticketId, code, nowMs) {
  const step = ctx.settings.rotating_step_seconds * 1000;
  const counter = Math.floor(nowMs / step);
  const key = await ticketKey(ctx, ticketId);
  let ok = false;
  for (let c = Math.max(counter - 1, 0); c <= counter + 1; c++) {
    if ((await codeAt(key, c)) === code) ok = true;
  }
  return ok;
}

// {reason, payload}: reason "valid" or why the code is refused (as services.judge_code).
// The ten digits printed under a QR code, typed by hand (as services.TICKET_NUMBER).
const TYPED_NUMBER = /^[0-9][0-9 -]{3,18}[0-9]$/;

export async function judge(ctx, rawText, { gateId = null, direction = "entry", nowMs = Date.now() } = {}) {
  let text = (rawText || "").trim();
  if (TYPED_NUMBER.test(text)) return { reason: "ticket_number", payload: null };
  const rotating = splitRotating(text);
  let code = null;
  if (rotating) [text, code] = rotating;
  let payload;
  if (text.startsWith(PASS_PREFIX)) {
    const found = await passEntry(ctx, text);
    if (found.reason) return { reason: found.reason, payload: null };
    payload = found.payload;
  } else {
    let decoded;
    try {
      decoded = decodeCredential(text);
    } catch (e) {
      return { reason: "malformed", payload: null };
    }
    const { signed, signature } = decoded;
    payload = decoded.payload;
    const key = ctx.keys.get(payload.keyId);
    if (!key) return { reason: "unknown_key", payload: null };
    if (!(await crypto.subtle.verify({ name: "Ed25519" }, key, signature, signed))) return { reason: "forged", payload: null };
  }
  if (payload.version <= (ctx.revoked.get(payload.ticketId) || 0)) return { reason: "revoked", payload };
  if (nowMs + LEEWAY_MS < payload.notBefore) return { reason: "not_yet_valid", payload };
  if (nowMs - LEEWAY_MS >= payload.notAfter) return { reason: "expired", payload };
  if (payload.sessionId !== ctx.sessionId) return { reason: "wrong_session", payload };
  const s = ctx.settings;
  if (code !== null) {
    if (!ctx.rotationKey || !(await checkRotatingCode(ctx, payload.ticketId, code, nowMs))) return { reason: "code_expired", payload };
  } else if (s.uses_rotating_codes && !s.is_static_credential_allowed) {
    return { reason: "static_not_allowed", payload };
  }
  if (direction === "entry") {
    if (s.entry_opens_at && nowMs < Date.parse(s.entry_opens_at)) return { reason: "entry_closed", payload };
    if (s.entry_closes_at && nowMs >= Date.parse(s.entry_closes_at)) return { reason: "entry_closed", payload };
    if (ctx.hasLists && gateId !== null) {
      const place = ctx.places.get(payload.unitId);
      let allowed = false;
      for (const [sections, zones] of ctx.gateLists.get(gateId) || []) {
        if (!sections.size && !zones.size) allowed = true;
        else if (place && (sections.has(place[0]) || zones.has(place[1]))) allowed = true;
      }
      if (!allowed) return { reason: "wrong_gate", payload };
    }
  }
  return { reason: "valid", payload };
}

// Attendance as the device knows it: ticket id -> {inside, entries}. Returns the reason
// after attendance and updates ``presence`` when the scan is accepted.
// An accepted entry also records when (ISO text) and at which gate, for "already entered".
export function applyAttendance(ctx, presence, verdict, direction, { at = null, gateId = null } = {}) {
  if (verdict.reason !== "valid") return verdict.reason;
  const id = verdict.payload.ticketId;
  const state = presence.get(id) || { inside: false, entries: 0 };
  if (direction === "entry") {
    if (state.inside) return "already_entered";
    if (state.entries && !ctx.settings.is_reentry_allowed) return "reentry_not_allowed";
    presence.set(id, { inside: true, entries: state.entries + 1, at, gate: gateId });
  } else {
    if (!state.inside) return "not_inside";
    presence.set(id, { ...state, inside: false });
  }
  return "valid";
}

// -- real-name tickets: check a document number against the signed holder digest ---------
// As tickets/credentials.py identity_digest: SHA-256(ticket id as 6 bytes || "ID|" ||
// number in NFKC, upper case, without whitespace and hyphens), first 8 bytes.
export function normaliseDocumentNumber(number) {
  return (number || "").normalize("NFKC").toUpperCase().replace(/[\s-]/g, "");
}

export async function identityDigest(number, ticketId) {
  const body = enc.encode("ID|" + normaliseDocumentNumber(number));
  const data = new Uint8Array(6 + body.length);
  let n = ticketId;
  for (let i = 5; i >= 0; i--) { data[i] = n % 256; n = Math.floor(n / 256); }
  data.set(body, 6);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data)).slice(0, 8);
}

// Whether ``number`` is the document of the credential ``rawText`` (its signature checked
// with the session's keys first): "id_match", "id_mismatch", or why the code is refused.
export async function checkIdentity(ctx, rawText, number) {
  let text = (rawText || "").trim();
  const rotating = splitRotating(text);
  if (rotating) text = rotating[0];
  let decoded;
  try {
    decoded = decodeCredential(text);
  } catch (e) {
    return "malformed";
  }
  const { payload, signed, signature } = decoded;
  const key = ctx.keys.get(payload.keyId);
  if (!key) return "unknown_key";
  if (!(await crypto.subtle.verify({ name: "Ed25519" }, key, signature, signed))) return "forged";
  const digest = await identityDigest(number, payload.ticketId);
  const expected = payload.holderDigest;
  return digest.length === expected.length && digest.every((b, i) => b === expected[i]) ? "id_match" : "id_mismatch";
}
