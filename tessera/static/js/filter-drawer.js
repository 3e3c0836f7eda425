// The search page's filters in a drawer on a phone: a "Filters" button opens the form over
// the results, "Close" or Escape closes it. Without JavaScript (or on wider screens) the form
// stays where it is. A form shown with errors opens at once, so the fan sees what to fix.
(function () {
  "use strict";
  const form = document.getElementById("search-filters");
  const toggle = document.getElementById("filter-toggle");
  const close = document.getElementById("filter-close");
  if (!form || !toggle || !close) return;
  const phone = window.matchMedia("(max-width: 720px)");

  function setOpen(open) {
    form.classList.toggle("is-open", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    document.body.classList.toggle("drawer-locked", open);
    if (open) {
      const first = form.querySelector("input, select");
      if (first) first.focus();
    }
  }

  function apply() {
    const drawer = phone.matches;
    form.classList.toggle("is-drawer", drawer);
    toggle.hidden = !drawer;
    close.hidden = !drawer;
    if (drawer) {
      form.setAttribute("role", "dialog");
      setOpen(form.hasAttribute("data-keep-open") && !form.dataset.seen);
      form.dataset.seen = "1";
    } else {
      form.removeAttribute("role");
      setOpen(false);
    }
  }

  toggle.addEventListener("click", () => setOpen(true));
  close.addEventListener("click", () => {
    setOpen(false);
    toggle.focus();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && form.classList.contains("is-open")) {
      setOpen(false);
      toggle.focus();
    }
  });
  phone.addEventListener("change", apply);
  apply();
})();
