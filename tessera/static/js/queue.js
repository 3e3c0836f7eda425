// The queue page: polls the status endpoint with the signed queue token, shows place,
// people ahead, estimated wait and progress, counts down to the opening, and when the fan
// is admitted (the response sets the admission-pass cookie) goes to the buy page.
const box = document.getElementById("queue");
const strings = JSON.parse(document.getElementById("queue-strings").textContent);
const $ = (id) => document.getElementById(id);
let token = box.dataset.token;
let opensAt = Date.now() + Number($("queue-clock").dataset.seconds) * 1000;

const fmt = (text, n) => text.replace("%(n)s", n);
const waitText = (seconds) => {
  if (seconds === null || seconds === undefined) return strings.unknown;
  if (seconds < 60) return fmt(strings.seconds, Math.max(1, seconds));
  return fmt(strings.minutes, Math.ceil(seconds / 60));
};

const tickClock = () => {
  const left = Math.max(0, Math.round((opensAt - Date.now()) / 1000));
  const h = Math.floor(left / 3600);
  const m = String(Math.floor((left % 3600) / 60)).padStart(2, "0");
  const s = String(left % 60).padStart(2, "0");
  $("queue-clock").textContent = h ? `${h}:${m}:${s}` : `${m}:${s}`;
};
setInterval(tickClock, 250);

const show = (data) => {
  box.dataset.state = data.state;
  if (data.token) token = data.token;
  opensAt = Date.now() + data.opens_in_seconds * 1000;
  const pre = data.state === "prequeue" || data.state === "scheduled";
  $("queue-countdown").hidden = !pre;
  const ended = data.sold_out || data.state === "closed" || data.state === "expired";
  const waiting = !pre && !data.admitted && !ended && data.position;
  $("queue-figures").hidden = !waiting;
  $("queue-progress").hidden = pre || ended;
  // a closed room no longer asks for a pass: the sale pages are open to everyone
  $("queue-admitted").hidden = !(data.admitted || data.state === "closed");
  $("queue-soldout").hidden = !data.sold_out;
  if (waiting) {
    $("queue-position").textContent = data.position.toLocaleString();
    $("queue-ahead").textContent = data.people_ahead.toLocaleString();
    $("queue-wait").textContent = waitText(data.estimated_wait_seconds);
  }
  const percent = Math.round((data.progress || 0) * 100);
  $("queue-progress-bar").style.width = `${percent}%`;
  $("queue-progress").setAttribute("aria-valuenow", String(percent));
  let message = strings.open;
  if (pre) message = strings.prequeue;
  else if (data.admitted) message = data.buy_urls.length > 1 ? strings.choose : strings.admitted;
  else if (data.sold_out) message = strings.soldOut;
  else if (data.state === "paused") message = strings.paused;
  else if (data.state === "closed") message = strings.closed;
  else if (data.state === "expired") message = strings.expired;
  $("queue-message").textContent = message;
};

const poll = async () => {
  let delay = 2000 + Math.random() * 1000;
  try {
    const url = `${box.dataset.statusUrl}?t=${encodeURIComponent(token)}`;
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error ? data.error.message : response.status);
    show(data);
    if (data.admitted && data.buy_urls.length === 1) {
      window.location.assign(data.buy_urls[0]);
      return;
    }
    if (data.sold_out || data.admitted || data.state === "closed" || data.state === "expired") {
      return;
    }
    // Poll faster close to the opening so the admission is seen within a second or two.
    const opensIn = opensAt - Date.now();
    if (opensIn > 0 && opensIn < delay) delay = opensIn + 300;
  } catch (_error) {
    $("queue-message").textContent = strings.error;
    delay = 5000;
  }
  setTimeout(poll, delay);
};
tickClock();
poll();
