/* Citizens' forms (sign-up, sign-in, reset, change of number) over the JSON API.
 *
 * A form names its endpoint (data-citizen-form) and where to go once it succeeded
 * (data-next). A "send a code" button posts the number (and, for a change, the password)
 * to /api/citizens/codes, then shows the rest of the form. The number stays in the page:
 * the server never sends it back. Errors show the server's sentence, in the page's
 * language, in the form's alert. */
(function () {
  "use strict";
  var strings = JSON.parse(document.getElementById("citizen-strings").textContent);

  function fields(form) {
    var out = {};
    new FormData(form).forEach(function (value, name) {
      if (String(value) !== "") out[name] = String(value);
    });
    return out;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () {
        return { ok: false, error: { message: strings.failed } };
      });
    }, function () {
      return { ok: false, error: { message: strings.failed } };
    });
  }

  function showError(form, message) {
    var alert = form.querySelector("[data-error]");
    alert.textContent = message || "";
    alert.hidden = !message;
  }

  function setBusy(button, busy) {
    button.disabled = busy;
    if (busy) button.setAttribute("aria-busy", "true");
    else button.removeAttribute("aria-busy");
  }

  function wire(form) {
    var sendButton = form.querySelector("[data-send-code]");
    var after = form.querySelector("[data-after-code]");
    if (sendButton) {
      sendButton.addEventListener("click", function () {
        var phone = form.querySelector("[name=phone]");
        if (!phone.reportValidity()) return;
        var body = { purpose: sendButton.dataset.sendCode, phone: phone.value };
        var password = form.querySelector("[name=password]");
        if (body.purpose === "change") {
          if (!password.reportValidity()) return;
          body.password = password.value;
        }
        setBusy(sendButton, true);
        showError(form, "");
        post("/api/citizens/codes", body).then(function (answer) {
          setBusy(sendButton, false);
          if (!answer.ok) return showError(form, answer.error.message);
          var minutes = Math.max(1, Math.round(answer.expires_in / 60));
          form.querySelector("[data-sent-status]").textContent =
            strings.sent.replace("{minutes}", minutes);
          after.hidden = false;
          form.querySelector("[name=code]").focus();
        });
      });
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (after && after.hidden) return sendButton.click();
      var submit = form.querySelector("button[type=submit]");
      setBusy(submit, true);
      showError(form, "");
      post(form.dataset.citizenForm, fields(form)).then(function (answer) {
        setBusy(submit, false);
        if (!answer.ok) return showError(form, answer.error.message);
        window.location.assign(form.dataset.next || "/citizen");
      });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-citizen-form]"), wire);
})();
