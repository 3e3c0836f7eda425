// Live check-in dashboard: polls the dashboard API every 5 seconds.
const url = document.currentScript ? document.currentScript.dataset.url : document.querySelector("script[data-url]").dataset.url;
const T = JSON.parse(document.getElementById("dash-messages").textContent);
const FLAGS = JSON.parse(document.getElementById("dash-flag-labels").textContent);
const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, text = "") => Object.assign(document.createElement(tag), attrs, text ? { textContent: text } : {});

function renderGates(gates) {
  const max = Math.max(1, ...gates.flatMap((g) => g.series.map(([, n]) => n)));
  $("dash-gates").replaceChildren(...gates.map((gate) => {
    const card = el("section", { className: "checkin-gate" });
    card.dataset.gate = gate.id;
    card.dataset.total = gate.total;
    card.append(el("h3", {}, `${gate.name} · ${gate.total}`));
    const bars = el("div", { className: "checkin-bars" });
    for (const [start, n] of gate.series.slice(-24)) {
      const bar = el("div", { className: "checkin-bar", title: `${new Date(start).toLocaleTimeString()} · ${n}` });
      bar.style.height = `${Math.max(4, (n / max) * 100)}%`;
      bar.append(el("span", {}, String(n)));
      bars.append(bar);
    }
    card.append(bars);
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
      for (const text of [new Date(f.scanned_at).toLocaleTimeString(), String(f.ticket_id || "").padStart(10, "0"), f.gate, f.device, FLAGS[f.flag] || f.flag]) tr.append(el("td", {}, text));
      return tr;
    });
    $("dash-flags").replaceChildren(...(rows.length ? rows : [el("tr", {}, "")].map((tr) => { tr.append(el("td", { colSpan: 5 }, T.none)); return tr; })));
    $("dash-updated").textContent = T.updated.replace("%(time)s", new Date().toLocaleTimeString());
    document.body.dataset.dashboardLoaded = "1";
  } catch (e) { /* offline: keep the last figures */ }
}
refresh();
setInterval(refresh, 5000);
