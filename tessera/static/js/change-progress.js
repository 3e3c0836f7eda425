// The back office's progress bar of a session change: polls the change's JSON every second
// while it runs and updates the counts, the bar and the list of failed orders.
const root = document.getElementById("change-progress");
const labels = JSON.parse(document.getElementById("change-progress-labels").textContent);
const bar = root.querySelector("progress");
const field = (name) => root.querySelector(`[data-field="${name}"]`);

function cell(text, colspan) {
  const td = document.createElement("td");
  td.textContent = text;
  if (colspan) td.colSpan = colspan;
  return td;
}

function show(state) {
  const handled = state.done + state.failed;
  bar.max = Math.max(state.total, 1);
  bar.value = handled;
  for (const name of ["status_label", "total", "done", "failed", "pending", "percent"]) {
    field(name).textContent = state[name];
  }
  field("handled").textContent = handled;
  root.dataset.status = state.status;
  // retrying is for failed orders (or a job that stopped while running)
  const retry = field("retry");
  if (retry) retry.hidden = state.status !== "running" && state.failed === 0;
  const body = field("failures");
  body.replaceChildren();
  if (!state.failures.length) {
    const row = document.createElement("tr");
    row.append(cell(labels.none, 2));
    body.append(row);
  }
  for (const failure of state.failures) {
    const row = document.createElement("tr");
    row.append(cell(failure.order), cell(failure.message));
    body.append(row);
  }
}

async function poll() {
  try {
    const response = await fetch(root.dataset.url, { headers: { Accept: "application/json" } });
    if (response.ok) {
      const state = await response.json();
      show(state);
      if (state.status !== "running") return;
    }
  } catch (error) {
    // the network came back later: keep polling
  }
  setTimeout(poll, 1000);
}

poll();
