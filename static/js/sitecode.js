/* The presenter screen of a room that asks for its on-site code: the QR code and the
 * digits follow the code as it turns every 30 s (a photo of the screen sent outside the
 * hall stops working within a minute). */
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("page-data").textContent);
  const strings = JSON.parse(document.getElementById("site-strings").textContent);
  const qr = document.querySelector("[data-testid=join-qr]");
  const digits = document.querySelector("[data-site-digits]");
  const left = document.querySelector("[data-site-left]");
  const url = `/api/present/${encodeURIComponent(data.room)}/site?token=${encodeURIComponent(data.presenter)}`;
  let until = 0;

  function fetchCode() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => r.json())
      .then((answer) => {
        if (!answer.ok || !answer.required) return;
        qr.innerHTML = answer.qr;
        digits.textContent = `${answer.code.slice(0, 3)} ${answer.code.slice(3)}`;
        qr.dataset.url = answer.url;
        until = answer.shown_until_ms;
        tick();
      }, () => { until = Date.now() + 2000; });  // unreachable: try again shortly
  }

  function tick() {
    const seconds = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    left.textContent = strings.left.replace("{seconds}", String(seconds));
  }

  setInterval(() => {
    if (Date.now() >= until) { until = Date.now() + 5000; fetchCode(); } else tick();
  }, 1000);
  fetchCode();
})();
