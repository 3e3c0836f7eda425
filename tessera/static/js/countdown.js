// The hold's countdown on every checkout step: counts down to the server-rendered
// data-deadline, warns data-warn-seconds before the end, and when the hold has run out says
// so, disables paying (the server refuses it anyway) and reloads once so the page offers
// to take the places again. Texts come translated from the #countdown-strings JSON blob.
const box = document.getElementById("countdown");
if (box) {
  const blob = document.getElementById("countdown-strings");
  const text = blob ? JSON.parse(blob.textContent) : {};
  const deadline = Date.parse(box.dataset.deadline);
  const warnAt = Number(box.dataset.warnSeconds || 150);
  const clock = box.querySelector(".countdown-clock");
  const warning = box.querySelector(".countdown-warning");
  const reloadKey = `tessera.countdown.reloaded.${box.dataset.deadline}`;
  let warned = false;
  const expire = () => {
    box.classList.add("notice-error");
    box.classList.remove("notice-warning");
    box.dataset.expired = "1";
    warning.textContent = text.expired || "";
    for (const button of document.querySelectorAll("#pay-button, #next-button, #extend-button")) {
      button.disabled = true;
    }
    if (box.dataset.reload === "1" && !sessionStorage.getItem(reloadKey)) {
      sessionStorage.setItem(reloadKey, "1");
      warning.textContent = `${text.expired || ""} ${text.reloading || ""}`;
      setTimeout(() => window.location.reload(), 1500);
    }
  };
  const tick = () => {
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    const m = String(Math.floor(left / 60)).padStart(2, "0");
    const s = String(left % 60).padStart(2, "0");
    clock.textContent = `${m}:${s}`;
    if (left === 0) {
      expire();
      return;
    }
    if (left <= warnAt && !warned) {
      warned = true;
      box.classList.add("notice-warning");
      box.dataset.warning = "1";
      warning.textContent = text.warning || "";
    }
    setTimeout(tick, 1000 - (Date.now() % 1000));
  };
  tick();
}
