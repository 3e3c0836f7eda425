// The interactive seat map of the buy page. The overview SVG is drawn by the server; this
// module adds live availability (polled with ETag), the seat view of a section, selection
// with a running total, best-available proposals, standing quantities, the heat map and
// the explanation when another buyer took a seat first. Texts come translated in the
// config blob rendered by the template, and so do the addresses of the endpoints it calls
// (the storefront's API router, /api/v1/sessions/<id>/seatmap/...); errors answer
// {"error": {"code", "message", "details"}} with the message in the fan's language.
import { PanZoom } from "./seatmap-view.js";

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

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": config.csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
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
        section: section.name,
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

async function openSection(section) {
  if (section.kind === "standing") {
    showStanding(section);
    return;
  }
  $("sm-standing").hidden = true;
  if (!state.geometry[section.id]) {
    const response = await fetch(config.urls.seats.replace("{id}", section.id));
    state.geometry[section.id] = await response.json();
  }
  post(config.urls.view.replace("{id}", section.id)); // a view for the heat map
  state.open = section.id;
  root.dataset.state = "seats";
  root.dataset.section = section.code;
  $("sm-back").hidden = false;
  drawSeats(section);
  const g = state.geometry[section.id];
  const xs = g.rows.flatMap((r) => r.seats.map((s) => s[0]));
  const ys = g.rows.flatMap((r) => r.seats.map((s) => s[1]));
  view.fit(Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys));
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
  paintSeats(state.open);
  renderSelection();
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
  const n = state.selected.size;
  const count = n === 1 ? T.selectedOne : fmt(T.selectedCount, { n });
  $("sm-count").textContent = n ? count : T.nothingSelected;
  $("sm-total").textContent = n ? money(minor) : "";
  $("sm-hold").disabled = n === 0;
}

// -- holds, proposals, lost seats -------------------------------------------------------------

async function holdUnits(unitIds, button) {
  button.disabled = true;
  const label = button.textContent;
  button.textContent = T.holding;
  try {
    const { status, data } = await post(config.urls.hold, { unit_ids: unitIds });
    if (status === 201) {
      window.location.assign(data.checkout_url);
      return;
    }
    const details = (data && data.error && data.error.details) || {};
    if (details.lost) showLost(data.error.message, details);
    else notice(data && data.error ? data.error.message : T.error, "error");
  } catch (error) {
    notice(T.error, "error");
  }
  button.textContent = label;
  button.disabled = false;
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
  if (state.open !== section.id) await openSection(section);
  else paintSeats(section.id);
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
  const accept = document.createElement("button");
  accept.type = "button";
  accept.className = "button button-primary";
  accept.id = "sm-accept";
  accept.textContent = T.accept;
  accept.addEventListener("click", () => holdUnits(data.unit_ids, accept));
  box.append(text, accept);
  box.hidden = false;
  notice("");
  await preview(data);
}

function showStanding(section) {
  const form = $("sm-standing");
  const zone = config.zones[section.zone];
  $("sm-standing-title").textContent = fmt(T.standingTitle, {
    section: section.name,
    price: zone ? zone.price : "",
  });
  form.dataset.section = section.id;
  form.hidden = false;
  $("sm-standing-qty").focus();
}

async function holdStanding(event) {
  event.preventDefault();
  const form = $("sm-standing");
  const button = $("sm-standing-hold");
  button.disabled = true;
  const { status, data } = await post(config.urls.hold, {
    section: Number(form.dataset.section),
    quantity: Number($("sm-standing-qty").value),
  });
  if (status === 201) {
    window.location.assign(data.checkout_url);
    return;
  }
  notice(data && data.error ? data.error.message : T.error, "error");
  button.disabled = false;
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
  root.querySelector(".sm-heat-legend").hidden = !state.heat;
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
svg.addEventListener("keydown", (event) => {
  if ((event.key === "Enter" || event.key === " ") && activate(event.target)) event.preventDefault();
});
$("sm-back").addEventListener("click", () => {
  state.open = null;
  seatLayer.replaceChildren();
  root.dataset.state = "overview";
  $("sm-back").hidden = true;
  view.reset();
});
$("sm-zoom-in").addEventListener("click", () => view.zoom(1.25));
$("sm-zoom-out").addEventListener("click", () => view.zoom(1 / 1.25));
$("sm-heat").addEventListener("change", toggleHeat);
$("sm-best").addEventListener("submit", propose);
$("sm-standing").addEventListener("submit", holdStanding);
$("sm-hold").addEventListener("click", () => holdUnits([...state.selected.keys()], $("sm-hold")));

renderSelection();
poll().then(() => {
  // the overview is drawn with its first availability: what the benchmark times
  root.dataset.readyAt = performance.now().toFixed(1);
  root.dataset.ready = "1";
});
setInterval(() => {
  if (!document.hidden) poll();
}, config.pollSeconds * 1000);
