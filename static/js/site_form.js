/* The host console's switch for the on-site code: POST /api/rooms/<id>/site. */
(function () {
  "use strict";
  const form = document.querySelector("[data-site-form]");
  if (!form) return;
  const strings = JSON.parse(document.getElementById("site-form-strings").textContent);
  const box = form.querySelector("input[name=required]");
  const status = form.querySelector("[data-site-status]");
  form.addEventListener("submit", (event) => event.preventDefault());
  box.addEventListener("change", () => {
    const required = box.checked;
    fetch(`/api/rooms/${encodeURIComponent(form.dataset.room)}/site`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ required }),
    }).then((r) => r.json()).then((answer) => {
      if (answer.ok) { status.textContent = answer.site ? strings.on : strings.off; return; }
      box.checked = !required;
      status.textContent = answer.error.message;
    }, () => { box.checked = !required; status.textContent = strings.failed; });
  });
})();
