/* "Notify me" on the account page: the areas and the place a citizen is told of new
 * polls about (/api/citizens/me/interests), and Web Push on this browser: the service
 * worker (/sw.js) registered, subscribed with the server's VAPID key, the subscription
 * sent to /api/citizens/me/push. */
(function () {
  "use strict";
  const strings = JSON.parse(document.getElementById("notify-strings").textContent);
  const form = document.querySelector("[data-notify-form]");
  if (!form) return;
  const status = form.querySelector("[data-notify-status]");
  const pushStatus = document.querySelector("[data-push-status]");
  const allow = document.querySelector("[data-push-allow]");
  const stop = document.querySelector("[data-push-stop]");
  const locate = form.querySelector("[data-notify-locate]");
  const json = { "Content-Type": "application/json", Accept: "application/json" };

  function send(method, url, body) {
    return fetch(url, { method, credentials: "same-origin", headers: json,
      body: body === undefined ? undefined : JSON.stringify(body) }).then((r) => r.json());
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const on = form.elements.on.checked;
    const areas = [...form.querySelectorAll("input[name=notify_areas]:checked")].map((i) => i.value);
    const lat = form.elements.place_lat.value.trim(), lon = form.elements.place_lon.value.trim();
    const place = lat && lon ? { lat: Number(lat), lon: Number(lon),
      radius_m: Number(form.elements.place_radius.value || 1000) } : null;
    send("PUT", "/api/citizens/me/interests", { areas: on ? areas : null, place })
      .then((answer) => { status.textContent = answer.ok ? strings.saved : answer.error.message; },
        () => { status.textContent = strings.failed; });
  });

  locate.addEventListener("click", () => {
    if (!navigator.geolocation) { status.textContent = strings.no_position; return; }
    navigator.geolocation.getCurrentPosition((p) => {
      form.elements.place_lat.value = p.coords.latitude.toFixed(5);
      form.elements.place_lon.value = p.coords.longitude.toFixed(5);
    }, () => { status.textContent = strings.no_position; });
  });

  const supported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  if (!supported) { pushStatus.textContent = strings.unsupported; allow.hidden = true; return; }

  function b64ToBytes(text) {
    const padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  async function current() {
    const reg = await navigator.serviceWorker.getRegistration("/");
    return reg ? reg.pushManager.getSubscription() : null;
  }

  async function subscribe() {
    const reg = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    await navigator.serviceWorker.ready;
    if (await Notification.requestPermission() !== "granted") throw new Error(strings.denied);
    const { key } = await send("GET", "/api/push/key");
    let sub = await reg.pushManager.getSubscription();
    if (!sub) {
      sub = await reg.pushManager.subscribe({ userVisibleOnly: true,
        applicationServerKey: b64ToBytes(key) });
    }
    const answer = await send("POST", "/api/citizens/me/push", sub.toJSON());
    if (!answer.ok) throw new Error(answer.error.message);
  }

  async function unsubscribe() {
    const sub = await current();
    if (!sub) return;
    await send("DELETE", "/api/citizens/me/push", { endpoint: sub.endpoint });
    await sub.unsubscribe();
  }

  function show(on) {
    allow.hidden = on; stop.hidden = !on;
    pushStatus.textContent = on ? strings.push_on : strings.push_off;
  }

  allow.addEventListener("click", () => {
    pushStatus.textContent = strings.working;
    subscribe().then(() => show(true), (e) => {
      pushStatus.textContent = `${strings.push_failed} ${e && e.message ? e.message : ""}`.trim();
    });
  });
  stop.addEventListener("click", () => {
    unsubscribe().then(() => show(false), () => { pushStatus.textContent = strings.failed; });
  });
  current().then((sub) => show(Boolean(sub)), () => show(false));
})();
