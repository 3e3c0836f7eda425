// The gate scanner: signs in a device, keeps the session's rules in IndexedDB, judges codes
// online through the server or offline with verify.js, queues offline scans and syncs them.
import { applyAttendance, buildContext, checkIdentity, judge } from "./verify.js";

const config = JSON.parse(document.getElementById("checkin-config").textContent);
const T = JSON.parse(document.getElementById("checkin-messages").textContent);
const $ = (id) => document.getElementById(id);
const fmt = (text, values) => text.replace(/%\((\w+)\)s/g, (_, k) => String(values[k]));

// -- IndexedDB: "kv" for token, bundles and attendance; "queue" for offline scans --------
let dbPromise;
function db() {
  dbPromise ||= new Promise((resolve, reject) => {
    const req = indexedDB.open("tessera-checkin", 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore("kv");
      req.result.createObjectStore("queue", { keyPath: "uuid" });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return dbPromise;
}
async function tx(store, mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction(store, mode);
    const result = fn(t.objectStore(store));
    t.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
    t.onerror = () => reject(t.error);
  });
}
const kvGet = (k) => tx("kv", "readonly", (s) => s.get(k));
const kvSet = (k, v) => tx("kv", "readwrite", (s) => s.put(v, k));
const kvDelete = (k) => tx("kv", "readwrite", (s) => s.delete(k));
const queueAll = () => tx("queue", "readonly", (s) => s.getAll());
const queuePut = (v) => tx("queue", "readwrite", (s) => s.put(v));
const queueDelete = (ids) => tx("queue", "readwrite", (s) => ids.forEach((id) => s.delete(id)));

// -- state -----------------------------------------------------------------------------
const state = { token: null, sessionId: null, gateId: null, direction: "entry", ctx: null, presence: new Map(), bundle: null, lastCode: null };

async function api(path, options = {}) {
  const response = await fetch(config.api + path, {
    ...options,
    headers: { Authorization: `Bearer ${state.token}`, "Content-Type": "application/json", ...(options.headers || {}) },
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.error ? body.error.message : response.statusText);
    error.status = response.status;
    throw error;
  }
  return body;
}

function show(section) {
  for (const id of ["signin", "setup", "scan"]) $(id).hidden = id !== section;
}

async function updateStatus(message) {
  const queued = (await queueAll()).length;
  $("net").textContent = navigator.onLine ? T.online : T.offline;
  $("net").dataset.online = navigator.onLine ? "1" : "0";
  $("queued").textContent = fmt(T.queued, { count: queued });
  $("queued").dataset.count = queued;
  if (message) $("notice").textContent = message;
}

// -- device and session ------------------------------------------------------------------
async function signIn(token) {
  state.token = token.trim();
  try {
    const device = await api("/device");
    await kvSet("token", state.token);
    await kvSet("device", device);
    await showSetup(device);
  } catch (error) {
    state.token = null;
    $("signin-error").textContent = error.status === 401 ? T.sign_in_failed : error.message;
  }
}

async function showSetup(device) {
  $("device-name").textContent = `${device.name} · ${device.organization}`;
  const select = $("session");
  // Today's sessions first (the one the gate is working), then the others by time; the
  // date leads the label because that is what tells two nights of a tour apart.
  const lang = document.documentElement.lang || undefined;
  const today = new Date().toDateString();
  const isToday = (s) => new Date(s.starts_at).toDateString() === today;
  const when = (s) => {
    const at = new Date(s.starts_at);
    const time = at.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit", hour12: false });
    if (isToday(s)) return `${T.today} ${time}`;
    return `${at.toLocaleDateString(lang, { weekday: "short", month: "short", day: "numeric" })} ${time}`;
  };
  const sessions = [...device.sessions].sort((a, b) => (isToday(b) - isToday(a)) || (Date.parse(a.starts_at) - Date.parse(b.starts_at)));
  select.replaceChildren(...sessions.map((s) => new Option(`${when(s)} · ${s.event_name}`, s.id)));
  show("setup");
}

async function loadBundle(sessionId) {
  const names = $("names").checked ? "?names=true" : "";
  const bundle = await api(`/sessions/${sessionId}/bundle${names}`);
  await kvSet(`bundle:${sessionId}`, bundle);
  const presence = new Map(bundle.presence.map(([t, inside, entries, at, gate]) => [t, { inside, entries, at, gate }]));
  // Offline scans not yet synced still count on this device.
  for (const scan of await queueAll()) {
    if (scan.session_id !== sessionId || !scan.accepted) continue;
    const s = presence.get(scan.ticket_id) || { inside: false, entries: 0 };
    if (scan.direction === "entry") presence.set(scan.ticket_id, { inside: true, entries: s.entries + 1, at: scan.scanned_at, gate: scan.gate_id });
    else presence.set(scan.ticket_id, { ...s, inside: false });
  }
  await kvSet(`presence:${sessionId}`, [...presence]);
  return bundle;
}

async function useBundle(bundle) {
  state.bundle = bundle;
  state.ctx = await buildContext(bundle);
  state.sessionId = bundle.session_id;
  state.presence = new Map((await kvGet(`presence:${bundle.session_id}`)) || []);
  const gate = $("gate");
  gate.replaceChildren(...bundle.gates.map((g) => new Option(g.name, g.id)));
  if (state.gateId && bundle.gates.some((g) => g.id === state.gateId)) gate.value = String(state.gateId);
  state.gateId = bundle.gates.length ? Number(gate.value) : null;
  $("event-name").textContent = bundle.event_name;
  show("scan");
  await updateStatus(fmt(T.bundle_loaded, { tickets: bundle.tickets.length, revocations: bundle.revocations.length }));
  $("code").focus();
}

// -- scanning ----------------------------------------------------------------------------
function enteredText(at, gate) {
  if (!at) return "";
  const time = new Date(at).toLocaleTimeString(document.documentElement.lang || undefined, { hour: "2-digit", minute: "2-digit", hour12: false });
  return gate ? fmt(T.entered_at_gate, { time, gate }) : fmt(T.entered_at, { time });
}

function showResult(reason, { holder = "", ticketId = null, direction = "entry", place = "", enteredAt = null, enteredGate = "" } = {}) {
  const box = $("result");
  const ok = reason === "valid";
  box.hidden = false;
  box.className = `scan-result ${ok ? "scan-result-ok" : "scan-result-bad"}`;
  box.dataset.reason = reason;
  box.dataset.seq = String(window.__scans || 0);
  $("result-title").textContent = ok && direction === "exit" ? T.valid_exit : T[reason] || reason;
  $("result-entered").textContent = reason === "already_entered" ? enteredText(enteredAt, enteredGate) : "";
  $("result-place").textContent = place;
  $("result-detail").textContent = [ticketId ? `#${String(ticketId).padStart(10, "0")}` : "", holder ? fmt(T.holder, { name: holder }) : ""].filter(Boolean).join(" · ");
  // Real-name sessions: the masked document the ticket names (bundle with names), and the
  // check-ID form, judged offline against the credential's signed identity digest.
  const identity = ticketId && state.ctx ? state.ctx.identities.get(ticketId) : null;
  $("result-identity").textContent = identity ? fmt(T.identity, { doc: T[`doc_${identity.docType}`] || identity.docType, number: identity.masked }) : "";
  if (identity && !holder) $("result-detail").textContent += ` · ${fmt(T.holder, { name: identity.name })}`;
  $("check-id").hidden = !(state.ctx && state.ctx.realName && ticketId);
  $("id-result").textContent = "";
  $("id-result").dataset.reason = "";
}

async function checkId(number) {
  const box = $("id-result");
  let reason;
  if (!state.ctx || !state.ctx.realName) reason = "id_not_real_name";
  else if (!state.lastCode) reason = "id_no_ticket";
  else reason = await checkIdentity(state.ctx, state.lastCode, number);
  box.dataset.reason = reason;
  box.className = `id-result ${reason === "id_match" ? "scan-result-ok" : "scan-result-bad"}`;
  box.textContent = T[reason] || reason;
  $("id-number").value = "";
}

async function scanOffline(text, scanUuid) {
  const direction = state.direction;
  const verdict = await judge(state.ctx, text, { gateId: state.gateId, direction });
  const scannedAt = new Date().toISOString();
  const reason = applyAttendance(state.ctx, state.presence, verdict, direction, { at: scannedAt, gateId: state.gateId });
  const ticketId = verdict.payload ? verdict.payload.ticketId : null;
  await queuePut({
    uuid: scanUuid, session_id: state.sessionId, ticket_id: ticketId, code: text, gate_id: state.gateId,
    direction, scanned_at: scannedAt, accepted: reason === "valid", reason,
  });
  await kvSet(`presence:${state.sessionId}`, [...state.presence]);
  const known = ticketId ? state.presence.get(ticketId) || {} : {};
  return {
    reason, ticketId, holder: ticketId ? state.ctx.names.get(ticketId) || "" : "",
    place: ticketId ? state.ctx.placeLabels.get(ticketId) || "" : "",
    enteredAt: known.at || null, enteredGate: known.gate ? state.ctx.gateNames.get(known.gate) || "" : "",
  };
}

async function handleCode(raw) {
  const text = raw.trim();
  if (!text || !state.ctx) return;
  state.lastCode = text;
  const scanUuid = crypto.randomUUID();
  const direction = state.direction;
  let result = null;
  if (navigator.onLine) {
    try {
      const r = await api(`/sessions/${state.sessionId}/scans`, {
        method: "POST", body: JSON.stringify({ uuid: scanUuid, code: text, gate_id: state.gateId, direction }),
      });
      result = {
        reason: r.reason, ticketId: r.ticket_id, holder: r.holder_name,
        place: r.place || "", enteredAt: r.entered_at, enteredGate: r.entered_gate || "",
      };
      if (r.accepted) {
        const s = state.presence.get(r.ticket_id) || { inside: false, entries: 0 };
        state.presence.set(r.ticket_id, direction === "entry" ? { inside: true, entries: s.entries + 1, at: new Date().toISOString(), gate: state.gateId } : { ...s, inside: false });
        await kvSet(`presence:${state.sessionId}`, [...state.presence]);
      }
    } catch (error) {
      if (error.status) { showResult("malformed"); $("notice").textContent = error.message; return; }
      result = null; // network failure: judge offline
    }
  }
  if (!result) result = await scanOffline(text, scanUuid);
  showResult(result.reason, { ...result, direction });
  await updateStatus();
}

async function sync() {
  if (!state.token || !navigator.onLine) return;
  const pending = await queueAll();
  let stored = 0, flagged = 0;
  try {
    const bySession = new Map();
    for (const scan of pending) {
      if (!bySession.has(scan.session_id)) bySession.set(scan.session_id, []);
      bySession.get(scan.session_id).push(scan);
    }
    for (const [sessionId, scans] of bySession) {
      for (let i = 0; i < scans.length; i += 500) {
        const batch = scans.slice(i, i + 500);
        const r = await api(`/sessions/${sessionId}/sync`, {
          method: "POST",
          body: JSON.stringify({ scans: batch.map(({ uuid, code, gate_id, direction, scanned_at, accepted, reason }) => ({ uuid, code, gate_id, direction, scanned_at, accepted, reason })) }),
        });
        stored += r.stored;
        flagged += r.flagged.length;
        await queueDelete(batch.map((s) => s.uuid));
      }
    }
    if (state.sessionId) await useBundle(await loadBundle(state.sessionId));
    await updateStatus(fmt(T.synced, { stored, flagged }));
    $("notice").dataset.synced = "1";
  } catch (error) {
    await updateStatus(error.message);
  }
}

// -- camera (optional: jsQR from npm) ------------------------------------------------------
async function startCamera() {
  if (!config.decoder) { $("notice").textContent = T.camera_unavailable; return; }
  if (!window.jsQR) {
    await new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = config.decoder; s.onload = resolve; s.onerror = reject;
      document.head.append(s);
    });
  }
  const video = $("video");
  video.hidden = false;
  video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
  await video.play();
  const canvas = document.createElement("canvas");
  const g = canvas.getContext("2d", { willReadFrequently: true });
  let last = "", lastAt = 0;
  const tick = async () => {
    if (video.readyState >= 2) {
      canvas.width = video.videoWidth; canvas.height = video.videoHeight;
      g.drawImage(video, 0, 0);
      const found = window.jsQR(g.getImageData(0, 0, canvas.width, canvas.height).data, canvas.width, canvas.height);
      if (found && (found.data !== last || Date.now() - lastAt > 3000)) {
        last = found.data; lastAt = Date.now();
        await handleCode(found.data);
      }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

// -- wiring ------------------------------------------------------------------------------
$("signin-form").addEventListener("submit", (e) => { e.preventDefault(); signIn($("token").value); });
$("setup-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const sessionId = Number($("session").value);
  await kvSet("session", sessionId);
  await useBundle(await loadBundle(sessionId));
});
$("scan-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = $("code");
  const value = input.value;
  input.value = "";
  await handleCode(value);
  input.focus();
});
$("check-id-form").addEventListener("submit", (e) => { e.preventDefault(); checkId($("id-number").value); });
$("gate").addEventListener("change", async () => { state.gateId = Number($("gate").value); await kvSet("gate", state.gateId); });
for (const radio of document.querySelectorAll("input[name=direction]")) {
  radio.addEventListener("change", () => { state.direction = radio.value; });
}
$("sync").addEventListener("click", sync);
$("camera").addEventListener("click", () => startCamera().catch((e) => { $("notice").textContent = e.message; }));
$("change-session").addEventListener("click", async () => { const d = await kvGet("device"); if (d) showSetup(d); });
$("sign-out").addEventListener("click", async () => { await kvDelete("token"); state.token = null; show("signin"); });
window.addEventListener("online", () => { updateStatus(); sync(); });
window.addEventListener("offline", () => updateStatus());

async function start() {
  if ("serviceWorker" in navigator) navigator.serviceWorker.register(config.sw, { scope: config.scope }).catch(() => {});
  state.token = (await kvGet("token")) || null;
  state.gateId = (await kvGet("gate")) || null;
  const sessionId = await kvGet("session");
  const cached = sessionId ? await kvGet(`bundle:${sessionId}`) : null;
  if (state.token && cached) await useBundle(cached);
  else if (state.token) { const d = await kvGet("device"); if (d) await showSetup(d); else show("signin"); }
  else show("signin");
  document.body.dataset.ready = "1";
  await updateStatus();
}
start();
