/* A citizen's areas of interest: the checked boxes sent to /api/citizens/me/areas (all
 * of them checked means every area). */
(function () {
  "use strict";
  const strings = JSON.parse(document.getElementById("areas-strings").textContent);
  const form = document.querySelector("[data-areas-form]");
  if (!form) return;
  const status = form.querySelector("[data-areas-status]");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const boxes = [...form.querySelectorAll("input[name=areas]")];
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    const areas = chosen.length === boxes.length ? null : chosen;
    fetch("/api/citizens/me/areas", {
      method: "PUT",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ areas }),
    }).then((r) => r.json()).then((answer) => {
      status.textContent = answer.ok ? strings.saved : answer.error.message;
    }, () => { status.textContent = strings.failed; });
  });
})();
