/* "Polls near me": the position the browser gives, sent to /api/polls/near with the
 * radius chosen; the answer listed nearest first. Nothing of the position is kept. */
(function () {
  "use strict";
  const strings = JSON.parse(document.getElementById("near-strings").textContent);
  const box = document.querySelector("[data-near]");
  if (!box) return;
  const button = box.querySelector("[data-near-button]");
  const status = box.querySelector("[data-near-status]");
  const list = box.querySelector("[data-near-list]");

  function card(poll) {
    const li = document.createElement("li");
    li.className = "poll-card";
    const h = document.createElement("h2");
    const a = document.createElement("a");
    a.href = "/polls/" + encodeURIComponent(poll.id);
    a.textContent = poll.title;
    h.append(a);
    const p = document.createElement("p");
    p.className = "hint";
    p.textContent = strings.away.replace("{km}", poll.distance_km.toFixed(1));
    li.append(h, p);
    return li;
  }

  function show(lat, lon) {
    const radius = box.querySelector("#radius").value;
    const query = new URLSearchParams({ lat: String(lat), lon: String(lon), radius_km: radius });
    fetch("/api/polls/near?" + query, { credentials: "same-origin" })
      .then((r) => r.json())
      .then((answer) => {
        button.disabled = false;
        if (!answer.ok) { status.textContent = answer.error.message; return; }
        list.replaceChildren(...answer.polls.map(card));
        list.hidden = answer.polls.length === 0;
        status.textContent = answer.polls.length ? strings.found : strings.none;
      }, () => { button.disabled = false; status.textContent = strings.failed; });
  }

  button.addEventListener("click", () => {
    if (!navigator.geolocation) { status.textContent = strings.denied; return; }
    button.disabled = true;
    status.textContent = strings.asking;
    navigator.geolocation.getCurrentPosition(
      (pos) => show(pos.coords.latitude, pos.coords.longitude),
      () => { button.disabled = false; status.textContent = strings.denied; },
      { timeout: 10000, maximumAge: 60000 });
  });
})();
