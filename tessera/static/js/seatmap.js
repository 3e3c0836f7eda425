// The interactive seat map of the buy page. The overview SVG is drawn by the server; this
// module adds live availability (polled with ETag), the seat view of a section, selection
// with a running total, best-available proposals, standing quantities, the heat map and
// the explanation when another buyer took a seat first. Texts come translated in the
// config blob rendered by the template, and so do the addresses of the endpoints it calls
// (the storefront's API router, /api/v1/sessions/<id>/seatmap/...); errors answer
// {"error": {"code", "message", "details"}} with the message in the fan's language.
import { PanZoom } from "./seatmap-view.js";
import { fetchWithProof, targetOf } from "../risk/pow.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const FREE = 0, HELD = 1, SOLD = 2, CLOSED = 3;
const STATE_CLASS = ["is-free", "is-held", "is-sold", "is-closed"];
const ACCESSIBLE = 1, RESTRICTED = 2;

const root = document.getElementById("seatmap");
const config = JSON.parse(document.getElementById("seatmap-config").textContent);
const T = config.strings;
const $ = (id) => document.getElementById(id);
const svg = $("sm-svg");
const seatLayer = $("sm-seats");
const rowLayer = $("sm-rows");
const MIN_SEAT_PX = 24; // a seat's diameter on screen once its section is open: one tap

const fmt = (text, values) => text.replace(/%\((\w+)\)s/g, (_, k) => values[k]);
const sectionsByCode = config.sections;
const sectionsById = Object.fromEntries(Object.values(sectionsByCode).map((s) => [s.id, s]));

const state = {
  etag: null,
  availability: {}, // section id → {free, total, states: Uint8Array}
  geometry: {}, // section id → seats payload
  open: null, // section id in the seat view
  selected: new Map(), // unit id → {label, zone, section}
  proposed: new Set(),
  lost: new Set(),
  heat: false,
  holding: false,
  standing: null, // the standing section whose quantity the bar holds
};

const view = new PanZoom(svg, {
  onChange: (box) => root.style.setProperty("--sm-scale", String(box[2])),
});

function notice(text, kind = "info") {
  const box = $("sm-notice");
  box.textContent = text;
  box.dataset.kind = kind;
}

function decode(text, count) {
  const raw = atob(text);
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = (raw.charCodeAt(i >> 2) >> ((i & 3) * 2)) & 3;
  return out;
}

function money(minor) {
  const { symbol, exponent } = config.currency;
  const value = (minor / 10 ** exponent).toFixed(exponent);
  const [whole, cents] = value.split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return symbol + grouped + (cents ? "." + cents : "");
}

// A hold may first be asked to prove a browser (tessera/risk: 428 challenge_required):
// pow.js solves it and sends the request again, the reason line saying "checking".
function checking(on) {
  $("sm-hold-reason").textContent = on ? T.checking : "";
}

async function post(url, body) {
  const init = {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": config.csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  };
  const response = await fetchWithProof(url, init, "hold", targetOf(url), checking);
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch (error) {
      // not JSON (a proxy's error page): the caller shows the generic message
    }
  }
  return { status: response.status, data };
}

// -- overview ----------------------------------------------------------------------------------

function sectionElement(code) {
  return svg.querySelector(`.sm-section[data-section="${CSS.escape(code)}"]`);
}

function paintOverview() {
  for (const section of Object.values(sectionsByCode)) {
    const el = sectionElement(section.code);
    const a = state.availability[section.id];
    if (!el || !a) continue;
    const share = a.total ? a.free / a.total : 0;
    const level = a.free === 0 ? "sold-out" : share < 0.2 || a.free < 10 ? "few" : "many";
    el.dataset.level = level;
    const word = { "sold-out": T.soldOut, few: T.fewLeft, many: T.manyLeft }[level];
    const zone = config.zones[section.zone];
    el.setAttribute(
      "aria-label",
      fmt(T.sectionLabel, {
        // the name read out starts with what the map shows (the code), for voice control
        section: section.name.includes(section.code) ? section.name : `${section.code} ${section.name}`,
        zone: zone ? `${zone.name} ${zone.price}` : T.closed,
        state: `${word} (${fmt(T.left, { n: a.free })})`,
      }),
    );
    const title = el.querySelector("title");
    if (title) title.textContent = el.getAttribute("aria-label");
    if (level === "sold-out") el.setAttribute("aria-disabled", "true");
    else el.removeAttribute("aria-disabled");
  }
}

// -- section tooltips: name, zone and price, places left -------------------------------------

function tipText(section) {
  const a = state.availability[section.id];
  const zone = config.zones[section.zone];
  const lines = [section.name];
  lines.push(zone ? fmt(T.tipPrice, { zone: zone.name, price: zone.price }) : T.closed);
  if (a) lines.push(a.free === 0 ? T.soldOut : fmt(T.left, { n: a.free }));
  return lines;
}

function showTip(el, clientX, clientY) {
  const section = sectionsByCode[el.dataset.section];
  const tip = $("sm-tip");
  if (!section || root.dataset.state !== "overview") {
    tip.hidden = true;
    return;
  }
  tip.replaceChildren(
    ...tipText(section).map((line, i) => {
      const span = document.createElement(i === 0 ? "strong" : "span");
      span.textContent = line;
      return span;
    }),
  );
  tip.dataset.section = section.code;
  tip.hidden = false;
  const stage = $("sm-stage").getBoundingClientRect();
  let x = clientX;
  let y = clientY;
  if (x === undefined) {
    const box = el.getBoundingClientRect();
    x = box.left + box.width / 2;
    y = box.top + box.height / 2;
  }
  const left = Math.min(Math.max(x - stage.left + 12, 4), stage.width - tip.offsetWidth - 4);
  const top = Math.min(Math.max(y - stage.top + 12, 4), stage.height - tip.offsetHeight - 4);
  tip.style.left = `${left}px`;
  tip.style.top = `${top}px`;
}

function hideTip() {
  $("sm-tip").hidden = true;
}

async function poll() {
  try {
    const headers = state.etag ? { "If-None-Match": state.etag } : {};
    const response = await fetch(config.urls.availability, { headers, cache: "no-store" });
    if (response.status === 200) {
      state.etag = response.headers.get("ETag");
      const data = await response.json();
      for (const [id, s] of Object.entries(data.sections)) {
        state.availability[id] = {
          free: s.free,
          total: s.total,
          states: s.states === undefined ? null : decode(s.states, s.total),
        };
      }
      paintOverview();
      if (state.open) paintSeats(state.open);
      dropTaken();
    }
    root.dataset.version = state.etag || "";
  } catch (error) {
    // the next poll tries again
  }
}

// -- seat view ---------------------------------------------------------------------------------

function seatState(sectionId, index) {
  const a = state.availability[sectionId];
  return a && a.states ? a.states[index] : FREE;
}

function seatLabel(section, row, seat) {
  return fmt(T.seat, { section: section.code, row: row.label, seat: seat[2] });
}

async function openSection(section, focus = null) {
  if (section.kind === "standing") {
    showStanding(section);
    return;
  }
  $("sm-standing").hidden = true;
  state.standing = null;
  if (!state.geometry[section.id]) {
    const response = await fetch(config.urls.seats.replace("{id}", section.id));
    state.geometry[section.id] = await response.json();
  }
  post(config.urls.view.replace("{id}", section.id)); // a view for the heat map
  state.open = section.id;
  hideTip();
  root.dataset.state = "seats";
  root.dataset.section = section.code;
  $("sm-back").hidden = false;
  const zone = config.zones[section.zone];
  $("sm-legend").style.setProperty("--sm-zone", zone ? zone.color : "#888");
  drawSeats(section);
  const g = state.geometry[section.id];
  const xs = g.rows.flatMap((r) => r.seats.map((s) => s[0]));
  const ys = g.rows.flatMap((r) => r.seats.map((s) => s[1]));
  // room for the row labels beyond the rows' ends
  const m = g.pitch * 1.8;
  view.fit(Math.min(...xs) - m, Math.min(...ys) - m, Math.max(...xs) + m, Math.max(...ys) + m, 0.04);
  // big enough to tap: zoom in on the section's middle until a seat is MIN_SEAT_PX wide
  const [, , scale] = view.toPlan(0, 0);
  const diameter = g.pitch * 0.84 * scale;
  if (diameter > 0 && diameter < MIN_SEAT_PX) {
    view.zoom(MIN_SEAT_PX / diameter);
    if (focus) {
      // keep the seats the fan is shown (a proposal, an alternative) in the middle
      const [, , w, h] = view.box;
      view.set([focus[0] - w / 2, focus[1] - h / 2, w, h]);
    }
  }
  showDirection(xs, ys);
}

function showDirection(xs, ys) {
  // which way the stage (pitch, floor…) lies from the open section, as an arrow on screen
  const focal = config.focal;
  const cx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const cy = ys.reduce((a, b) => a + b, 0) / ys.length;
  const box = $("sm-direction");
  if (!focal || !focal.label || (Math.abs(focal.x - cx) < 1 && Math.abs(focal.y - cy) < 1)) {
    box.hidden = true;
    return;
  }
  const degrees = (Math.atan2(focal.y - cy, focal.x - cx) * 180) / Math.PI + 90;
  $("sm-direction-arrow").style.transform = `rotate(${degrees.toFixed(0)}deg)`;
  $("sm-direction-text").textContent = fmt(T.towards, { place: focal.label });
  box.dataset.degrees = degrees.toFixed(0);
  box.hidden = false;
}

function drawRowLabels(g) {
  // the row's label beyond both ends of the row, away from its seats
  rowLayer.replaceChildren();
  const fragment = document.createDocumentFragment();
  for (const row of g.rows) {
    if (!row.seats.length) continue;
    const ends = [
      [row.seats[0], row.seats[1]],
      [row.seats[row.seats.length - 1], row.seats[row.seats.length - 2]],
    ];
    for (const [end, next] of ends) {
      let dx = -1;
      let dy = 0;
      if (next) {
        const length = Math.hypot(end[0] - next[0], end[1] - next[1]) || 1;
        dx = (end[0] - next[0]) / length;
        dy = (end[1] - next[1]) / length;
      }
      const text = document.createElementNS(SVG_NS, "text");
      text.setAttribute("x", (end[0] + dx * g.pitch * 1.1).toFixed(1));
      text.setAttribute("y", (end[1] + dy * g.pitch * 1.1).toFixed(1));
      text.setAttribute("font-size", (g.pitch * 0.55).toFixed(1));
      text.setAttribute("class", "sm-row-label");
      text.setAttribute("aria-hidden", "true");
      text.textContent = row.label;
      fragment.appendChild(text);
      if (row.seats.length === 1) break;
    }
  }
  rowLayer.appendChild(fragment);
}

function drawSeats(section) {
  const g = state.geometry[section.id];
  seatLayer.replaceChildren();
  seatLayer.style.setProperty("--p", `${g.pitch}px`);
  const r = g.pitch * 0.42;
  let index = 0;
  const fragment = document.createDocumentFragment();
  for (const row of g.rows) {
    for (const seat of row.seats) {
      const [x, y, , flags, unitId, zoneId] = seat;
      const circle = document.createElementNS(SVG_NS, "circle");
      circle.setAttribute("cx", x);
      circle.setAttribute("cy", y);
      circle.setAttribute("r", r);
      circle.setAttribute("class", "sm-seat");
      circle.setAttribute("tabindex", "0");
      circle.setAttribute("role", "checkbox");
      circle.dataset.unit = unitId;
      circle.dataset.index = index;
      circle.dataset.zone = zoneId;
      circle.dataset.label = seatLabel(section, row, seat);
      if (flags & ACCESSIBLE) circle.classList.add("is-accessible");
      if (flags & RESTRICTED) circle.classList.add("is-restricted");
      const zone = config.zones[zoneId];
      circle.style.setProperty("--zone", zone ? zone.color : "#888");
      fragment.appendChild(circle);
      index++;
    }
  }
  seatLayer.appendChild(fragment);
  drawRowLabels(g);
  paintSeats(section.id);
}

function paintSeats(sectionId) {
  for (const circle of seatLayer.children) {
    const s = seatState(sectionId, Number(circle.dataset.index));
    const unit = Number(circle.dataset.unit);
    circle.classList.remove(...STATE_CLASS);
    circle.classList.add(STATE_CLASS[s]);
    const mine = state.selected.has(unit);
    circle.classList.toggle("is-selected", mine);
    circle.classList.toggle("is-proposed", state.proposed.has(unit));
    circle.classList.toggle("is-lost", state.lost.has(unit));
    circle.setAttribute("aria-checked", mine ? "true" : "false");
    const extra = [];
    if (circle.classList.contains("is-accessible")) extra.push(T.accessible);
    if (circle.classList.contains("is-restricted")) extra.push(T.restricted);
    const words = [T.available, T.held, T.sold, T.closed][s];
    const zone = config.zones[circle.dataset.zone];
    circle.setAttribute(
      "aria-label",
      [circle.dataset.label, zone ? zone.price : "", mine ? T.selected : words, ...extra]
        .filter(Boolean)
        .join(", "),
    );
    if (s !== FREE && !mine) circle.setAttribute("aria-disabled", "true");
    else circle.removeAttribute("aria-disabled");
  }
}

function toggleSeat(circle) {
  const unit = Number(circle.dataset.unit);
  if (state.selected.has(unit)) {
    state.selected.delete(unit);
  } else {
    if (seatState(state.open, Number(circle.dataset.index)) !== FREE) return;
    if (state.selected.size >= config.maxSeats) {
      notice(fmt(T.limit, { n: config.maxSeats }), "warning");
      return;
    }
    state.selected.set(unit, {
      label: circle.dataset.label,
      zone: Number(circle.dataset.zone),
      section: state.open,
      index: Number(circle.dataset.index),
    });
  }
  state.proposed.clear();
  $("sm-proposal").hidden = true;
  state.standing = null;
  $("sm-standing").hidden = true;
  paintSeats(state.open);
  renderSelection();
}

function seatIndex(sectionId, unitId) {
  const g = state.geometry[sectionId];
  if (!g) return -1;
  let index = 0;
  for (const row of g.rows) {
    for (const s of row.seats) {
      if (s[4] === unitId) return index;
      index++;
    }
  }
  return -1;
}

function dropTaken() {
  const gone = [];
  for (const [unit, seat] of state.selected) {
    if (seatState(seat.section, seat.index) !== FREE) {
      gone.push(seat.label);
      state.selected.delete(unit);
    }
  }
  if (gone.length) {
    notice(fmt(T.taken, { seats: gone.join(", ") }), "warning");
    if (state.open) paintSeats(state.open);
    renderSelection();
  }
}

function renderSelection() {
  const list = $("sm-selected");
  list.replaceChildren();
  let minor = 0;
  for (const [unit, seat] of state.selected) {
    const zone = config.zones[seat.zone];
    minor += zone ? zone.minor : 0;
    const li = document.createElement("li");
    li.className = "sm-selected-seat";
    li.dataset.unit = unit;
    const text = document.createElement("span");
    text.textContent = `${seat.label} · ${zone ? zone.price : ""}`;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "sm-remove";
    remove.textContent = "×";
    remove.setAttribute("aria-label", fmt(T.remove, { seat: seat.label }));
    remove.addEventListener("click", () => {
      state.selected.delete(unit);
      if (state.open) paintSeats(state.open);
      renderSelection();
    });
    li.append(text, remove);
    list.appendChild(li);
  }
  let n = state.selected.size;
  let count = n === 1 ? T.selectedOne : fmt(T.selectedCount, { n });
  if (state.standing) {
    const zone = config.zones[state.standing.zone];
    n = Math.max(0, Math.floor(Number($("sm-standing-qty").value) || 0));
    minor = zone ? zone.minor * n : 0;
    count = fmt(T.standingCount, { n, section: state.standing.name });
  }
  $("sm-count").textContent = n ? count : ""; // the reason under the button says what to do
  $("sm-total").textContent = n ? money(minor) : "";
  $("sm-bar").dataset.count = String(n);
  updateHoldButton();
}

function updateHoldButton() {
  // disabled looks disabled and says why, next to the button
  const button = $("sm-hold");
  let reason = "";
  if (!config.onSale) reason = T.reasonClosed;
  else if (state.holding) reason = T.reasonHolding;
  else if (state.standing) {
    const n = Number($("sm-standing-qty").value);
    if (!(n >= 1 && n <= config.maxSeats)) reason = fmt(T.limit, { n: config.maxSeats });
  } else if (state.selected.size === 0) reason = T.reasonEmpty;
  button.disabled = reason !== "";
  if (!state.holding) button.textContent = state.standing ? T.holdPlaces : T.hold;
  $("sm-hold-reason").textContent = reason;
  $("sm-bar").dataset.disabled = reason ? "1" : "0";
}

// -- holds, proposals, lost seats -------------------------------------------------------------

// Where a new hold leads: the checkout, or the flow that opened this map (an exchange).
function afterHold(data) {
  return config.next ? config.next.replace("{hold}", encodeURIComponent(data.hold_id)) : data.checkout_url;
}

async function holdUnits(unitIds, button) {
  button.disabled = true;
  state.holding = true;
  updateHoldButton();
  const label = button.textContent;
  button.textContent = T.holding;
  try {
    const { status, data } = await post(config.urls.hold, { unit_ids: unitIds });
    if (status === 201) {
      window.location.assign(afterHold(data));
      return;
    }
    const details = (data && data.error && data.error.details) || {};
    if (details.lost) showLost(data.error.message, details);
    else notice(data && data.error ? data.error.message : T.error, "error");
  } catch (error) {
    notice(T.error, "error");
  }
  button.textContent = label;
  state.holding = false;
  button.disabled = false;
  updateHoldButton();
}

function markTaken(seat) {
  // until the next poll confirms it: the hold answer says another buyer has this seat
  const g = state.geometry[seat.section_id];
  const a = state.availability[seat.section_id];
  if (!g || !a || !a.states) return;
  let index = 0;
  for (const row of g.rows) {
    for (const s of row.seats) {
      if (s[4] === seat.unit_id && a.states[index] === FREE) a.states[index] = HELD;
      index++;
    }
  }
}

function showLost(message, details) {
  for (const seat of details.lost) {
    state.lost.add(seat.unit_id);
    state.selected.delete(seat.unit_id);
    markTaken(seat);
  }
  const box = $("sm-lost");
  box.replaceChildren();
  const intro = document.createElement("p");
  intro.className = "sm-lost-message";
  intro.textContent = message;
  const list = document.createElement("ul");
  list.className = "sm-lost-seats";
  for (const seat of details.lost) {
    const li = document.createElement("li");
    li.textContent = seat.label;
    list.appendChild(li);
  }
  box.append(intro, list);
  if (!details.alternatives.length) {
    const none = document.createElement("p");
    none.textContent = T.noAlternative;
    box.appendChild(none);
  }
  for (const alt of details.alternatives) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button sm-alternative";
    button.textContent = fmt(T.alternative, {
      seats: alt.seats.map((s) => s.label).join(", "),
      total: alt.total,
    });
    button.addEventListener("click", () => holdUnits(alt.unit_ids, button));
    button.addEventListener("mouseenter", () => preview(alt));
    button.addEventListener("focus", () => preview(alt));
    box.appendChild(button);
  }
  box.hidden = false;
  notice("");
  poll();
  if (state.open) paintSeats(state.open);
  renderSelection();
  if (details.alternatives.length) preview(details.alternatives[0]);
}

async function preview(proposal) {
  state.proposed = new Set(proposal.unit_ids);
  const section = sectionsById[proposal.seats[0].section_id];
  if (state.open !== section.id) {
    if (!state.geometry[section.id]) {
      const response = await fetch(config.urls.seats.replace("{id}", section.id));
      state.geometry[section.id] = await response.json();
    }
    const g = state.geometry[section.id];
    const points = g.rows.flatMap((r) => r.seats).filter((s) => state.proposed.has(s[4]));
    const focus = points.length
      ? [
          points.reduce((a, p) => a + p[0], 0) / points.length,
          points.reduce((a, p) => a + p[1], 0) / points.length,
        ]
      : null;
    await openSection(section, focus);
  } else paintSeats(section.id);
}

async function propose(event) {
  event.preventDefault();
  const params = new URLSearchParams({ zone: $("sm-best-zone").value, quantity: $("sm-best-qty").value });
  const response = await fetch(`${config.urls.propose}?${params}`, { cache: "no-store" });
  const data = await response.json();
  const box = $("sm-proposal");
  box.replaceChildren();
  if (response.status !== 200) {
    notice(data.error ? data.error.message : T.error, "error");
    box.hidden = true;
    return;
  }
  const text = document.createElement("p");
  text.className = "sm-proposal-text";
  text.textContent = fmt(T.proposal, { seats: data.seats.map((s) => s.label).join(", "), total: data.total });
  const hint = document.createElement("p");
  hint.className = "sm-proposal-hint";
  hint.textContent = T.proposalHint;
  box.append(text, hint);
  box.hidden = false;
  $("sm-lost").hidden = true;
  notice("");
  await preview(data);
  // the proposal replaces what was picked by hand: one choice, one hold button
  state.standing = null;
  $("sm-standing").hidden = true;
  state.selected.clear();
  for (const seat of data.seats) {
    state.selected.set(seat.unit_id, {
      label: seat.label,
      zone: seat.zone_id,
      section: seat.section_id,
      index: seatIndex(seat.section_id, seat.unit_id),
    });
  }
  if (state.open) paintSeats(state.open);
  renderSelection();
  $("sm-bar").scrollIntoView({ block: "nearest" });
}

function showStanding(section) {
  // a standing area replaces any seats picked: the bar holds its quantity
  state.standing = section;
  state.selected.clear();
  state.proposed.clear();
  $("sm-proposal").hidden = true;
  if (state.open) paintSeats(state.open);
  const form = $("sm-standing");
  const zone = config.zones[section.zone];
  $("sm-standing-title").textContent = fmt(T.standingTitle, {
    section: section.name,
    price: zone ? zone.price : "",
  });
  form.dataset.section = section.id;
  form.hidden = false;
  renderSelection();
  $("sm-standing-qty").focus();
}

async function holdStanding(event) {
  if (event) event.preventDefault();
  const form = $("sm-standing");
  const button = $("sm-hold");
  button.disabled = true;
  const { status, data } = await post(config.urls.hold, {
    section: Number(form.dataset.section),
    quantity: Number($("sm-standing-qty").value),
  });
  if (status === 201) {
    window.location.assign(afterHold(data));
    return;
  }
  notice(data && data.error ? data.error.message : T.error, "error");
  updateHoldButton();
}

// -- heat map ----------------------------------------------------------------------------------

function heatColor(value) {
  // pale yellow (quiet) → deep red (in demand)
  const h = 55 - 55 * value;
  const l = 85 - 45 * value;
  return `hsl(${h.toFixed(0)} 90% ${l.toFixed(0)}%)`;
}

async function toggleHeat() {
  state.heat = $("sm-heat").checked;
  root.classList.toggle("is-heat", state.heat);
  let figures = {};
  if (state.heat) {
    const response = await fetch(config.urls.heat, { cache: "no-store" });
    figures = (await response.json()).sections;
  }
  for (const section of Object.values(sectionsByCode)) {
    const el = sectionElement(section.code);
    if (!el) continue;
    const shape = el.querySelector(".sm-section-shape");
    const f = figures[section.id];
    shape.setAttribute("fill", state.heat && f ? heatColor(Number(f.heat)) : shape.dataset.fill);
    el.dataset.heat = state.heat && f ? f.heat : "";
  }
  root.dataset.heatReady = state.heat ? "1" : "0";
}

// -- wiring ------------------------------------------------------------------------------------

function activate(target) {
  const seat = target.closest(".sm-seat");
  if (seat) {
    toggleSeat(seat);
    return true;
  }
  const el = target.closest(".sm-section");
  if (el && el.dataset.zone) {
    const section = sectionsByCode[el.dataset.section];
    if (section) openSection(section);
    return true;
  }
  return false;
}

svg.addEventListener("click", (event) => activate(event.target));
svg.addEventListener("pointermove", (event) => {
  if (event.pointerType === "touch") return;
  const el = event.target.closest && event.target.closest(".sm-section");
  if (el) showTip(el, event.clientX, event.clientY);
  else hideTip();
});
svg.addEventListener("pointerleave", hideTip);
svg.addEventListener("focusin", (event) => {
  const el = event.target.closest(".sm-section");
  if (el) showTip(el);
});
svg.addEventListener("focusout", hideTip);
svg.addEventListener("keydown", (event) => {
  if ((event.key === "Enter" || event.key === " ") && activate(event.target)) event.preventDefault();
});
$("sm-back").addEventListener("click", () => {
  state.open = null;
  seatLayer.replaceChildren();
  rowLayer.replaceChildren();
  $("sm-direction").hidden = true;
  root.dataset.state = "overview";
  $("sm-back").hidden = true;
  view.reset();
});
$("sm-zoom-in").addEventListener("click", () => view.zoom(1.25));
$("sm-zoom-out").addEventListener("click", () => view.zoom(1 / 1.25));
$("sm-heat").addEventListener("change", toggleHeat);
$("sm-best").addEventListener("submit", propose);
$("sm-standing").addEventListener("submit", holdStanding);
$("sm-hold").addEventListener("click", () => {
  if (state.standing) holdStanding();
  else holdUnits([...state.selected.keys()], $("sm-hold"));
});
$("sm-standing-qty").addEventListener("input", renderSelection);

root.classList.add("is-live"); // the no-JavaScript form stays in its <noscript>
renderSelection();
poll().then(() => {
  // the overview is drawn with its first availability: what the benchmark times
  root.dataset.readyAt = performance.now().toFixed(1);
  root.dataset.ready = "1";
});
setInterval(() => {
  if (!document.hidden) poll();
}, config.pollSeconds * 1000);
