// Live check-in dashboard: polls the dashboard API every 5 seconds.
const script = document.querySelector("script[data-url]");
const url = script.dataset.url;
// Times of day in the venue's zone (the gates' clock), hours and minutes.
const clock = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
  hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: script.dataset.zone || undefined,
});
const AXIS_EVERY = 6; // a time under every sixth 5-minute bar: every half hour
const T = JSON.parse(document.getElementById("dash-messages").textContent);
const FLAGS = JSON.parse(document.getElementById("dash-flag-labels").textContent);
const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, text = "") => Object.assign(document.createElement(tag), attrs, text ? { textContent: text } : {});

// The API lists only the 5-minute buckets that had entries; the bars show every bucket from
// the first to the last (empty ones at zero), so the time axis runs evenly.
const BUCKET_MS = 5 * 60 * 1000;
function continuous(series) {
  if (!series.length) return [];
  const counts = new Map(series.map(([start, n]) => [Date.parse(start), n]));
  const first = Date.parse(series[0][0]);
  const last = Date.parse(series[series.length - 1][0]);
  const out = [];
  for (let t = Math.max(first, last - 23 * BUCKET_MS); t <= last; t += BUCKET_MS) {
    out.push([new Date(t).toISOString(), counts.get(t) || 0]);
  }
  return out;
}

function renderGates(gates) {
  const max = Math.max(1, ...gates.flatMap((g) => g.series.map(([, n]) => n)));
  $("dash-gates").replaceChildren(...gates.map((gate) => {
    const card = el("section", { className: "checkin-gate" });
    card.dataset.gate = gate.id;
    card.dataset.total = gate.total;
    card.append(el("h3", {}, `${gate.name} · ${gate.total}`));
    const bars = el("div", { className: "checkin-bars" });
    const axis = el("div", { className: "checkin-axis", role: "presentation" });
    axis.setAttribute("aria-label", script.dataset.axisLabel || "");
    const series = continuous(gate.series).slice(-24);
    series.forEach(([start, n], i) => {
      const time = clock.format(new Date(start));
      const bar = el("div", { className: "checkin-bar", title: `${time} · ${n}` });
      bar.style.height = `${Math.max(4, (n / max) * 100)}%`;
      bar.append(el("span", {}, String(n)));
      bars.append(bar);
      // The axis has one cell per bar; the first, every sixth and the last carry a time.
      const labelled = i === 0 || i === series.length - 1 || i % AXIS_EVERY === 0;
      const tooClose = i === series.length - 1 && i % AXIS_EVERY !== 0 && i % AXIS_EVERY < 3;
      const tick = el("span", { className: "checkin-tick" });
      if (labelled && !tooClose) tick.append(el("time", { dateTime: start }, time));
      axis.append(tick);
    });
    card.append(bars, axis);
    return card;
  }));
}

async function refresh() {
  try {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    $("dash-inside").textContent = data.inside;
    $("dash-entered").textContent = `${data.entered} / ${data.tickets}`;
    $("dash-flagged-count").textContent = data.flagged_count;
    renderGates(data.gates);
    const rows = data.flagged.map((f) => {
      const tr = el("tr");
      for (const text of [clock.format(new Date(f.scanned_at)), String(f.ticket_id || "").padStart(10, "0"), f.gate, f.device, FLAGS[f.flag] || f.flag]) tr.append(el("td", {}, text));
      return tr;
    });
    $("dash-flags").replaceChildren(...(rows.length ? rows : [el("tr", {}, "")].map((tr) => { tr.append(el("td", { colSpan: 5 }, T.none)); return tr; })));
    $("dash-updated").textContent = T.updated.replace("%(time)s", new Date().toLocaleTimeString());
    document.body.dataset.dashboardLoaded = "1";
  } catch (e) { /* offline: keep the last figures */ }
}
refresh();
setInterval(refresh, 5000);
