/* An official's reflection forms: each posts {text, date, link} to its poll's
 * /api/polls/<id>/reflection and says whether it was published. */
(function () {
  "use strict";
  const strings = JSON.parse(document.getElementById("reflection-strings").textContent);
  document.querySelectorAll("[data-reflection-form]").forEach((form) => {
    const done = form.querySelector("[data-done]");
    const alertBox = form.querySelector("[data-error]");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const f = new FormData(form);
      const body = { text: String(f.get("text") || ""), date: String(f.get("date") || "") };
      if (f.get("link")) body.link = String(f.get("link"));
      done.textContent = "";
      alertBox.hidden = true;
      fetch(`/api/polls/${encodeURIComponent(form.dataset.reflectionForm)}/reflection`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      }).then((r) => r.json()).then((answer) => {
        if (answer.ok) { done.textContent = strings.published; return; }
        alertBox.textContent = answer.error.message;
        alertBox.hidden = false;
      }, () => { alertBox.textContent = strings.failed; alertBox.hidden = false; });
    });
  });
})();
