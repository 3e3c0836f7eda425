// The inbox's canned replies: choosing one fills the reply box (the agent may edit it).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var select = document.querySelector(".inbox-canned");
  var box = document.querySelector(".inbox-reply textarea");
  if (!select || !box) return;
  select.addEventListener("change", function () {
    if (select.value) box.value = select.value;
    box.focus();
  });
});
