// Keeps what the fan typed on the attendees step while the page is reloaded without being
// submitted (switching language, the countdown's reload): values are stored per hold in
// sessionStorage and put back into fields the server rendered empty.
const form = document.getElementById("checkout-form");
if (form && form.dataset.draftKey) {
  const key = `tessera.checkout.${form.dataset.draftKey}`;
  const fields = () => form.querySelectorAll("input[name^=attendee_], input[name=email]");
  let saved = {};
  try {
    saved = JSON.parse(sessionStorage.getItem(key) || "{}");
  } catch {
    saved = {};
  }
  for (const field of fields()) {
    if (!field.value && saved[field.name]) field.value = saved[field.name];
  }
  form.addEventListener("input", () => {
    const values = {};
    for (const field of fields()) values[field.name] = field.value;
    sessionStorage.setItem(key, JSON.stringify(values));
  });
}
