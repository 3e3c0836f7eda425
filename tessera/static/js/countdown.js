// The hold countdown: counts down to data-deadline, warns before the end, and when the hold
// has expired says so and disables paying (the server refuses it anyway).
const box = document.getElementById("countdown");
if (box) {
  const deadline = Date.parse(box.dataset.deadline);
  const warnAt = Number(box.dataset.warnSeconds || 120);
  const clock = box.querySelector(".countdown-clock");
  const warning = box.querySelector(".countdown-warning");
  const pay = document.getElementById("pay-button");
  const tick = () => {
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    const m = String(Math.floor(left / 60)).padStart(2, "0");
    const s = String(left % 60).padStart(2, "0");
    clock.textContent = `${m}:${s}`;
    if (left === 0) {
      box.classList.add("notice-error");
      box.classList.remove("notice-warning");
      box.dataset.expired = "1";
      warning.textContent = box.dataset.expiredText;
      if (pay) pay.disabled = true;
      return;
    }
    if (left <= warnAt) {
      box.classList.add("notice-warning");
      warning.textContent = box.dataset.warnText;
    }
    setTimeout(tick, 1000 - (Date.now() % 1000));
  };
  tick();
}
