/* A citizen's profile (each field optional): sent to /api/citizens/me/profile. */
(function () {
  "use strict";
  const strings = JSON.parse(document.getElementById("profile-strings").textContent);
  const form = document.querySelector("[data-profile-form]");
  if (!form) return;
  const status = form.querySelector("[data-profile-status]");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = (name) => form.elements[name].value.trim() || null;
    const born = value("birth_year");
    const body = {
      birth_year: born && /^[0-9]+$/.test(born) ? Number(born) : born,
      gender: value("gender"),
      district: value("district"),
      job: value("job"),
    };
    fetch("/api/citizens/me/profile", {
      method: "PUT",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    }).then((r) => r.json()).then((answer) => {
      status.textContent = answer.ok ? strings.saved : answer.error.message;
    }, () => { status.textContent = strings.failed; });
  });
})();
