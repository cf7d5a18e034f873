/* The service worker of mVoting (served at /sw.js, scope /): shows a Web Push message
 * of a new poll (live.notify.fanout) as a notification, in the browser's language, and
 * opens the poll's page when it is clicked, marking the notice read. */
"use strict";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let message = {};
  try { message = event.data ? event.data.json() : {}; } catch (e) { message = {}; }
  if (!message.poll) return;
  const lang = (self.navigator.language || "en").toLowerCase().startsWith("ko") ? "ko" : "en";
  const texts = message.texts || {};
  const title = message.title || "mVoting";
  event.waitUntil(self.registration.showNotification(title, {
    body: texts[lang] || texts.en || "",
    tag: `poll-${message.poll}`,
    icon: "/static/favicon.svg",
    data: { url: message.url || `/polls/${message.poll}`, notice: message.notice },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const path = (event.notification.data && event.notification.data.url) || "/inbox";
  const url = new URL(path, self.location.origin);
  if (url.origin !== self.location.origin) return;  // only our own pages
  const notice = event.notification.data && event.notification.data.notice;
  event.waitUntil((async () => {
    if (notice) {  // read, as in the inbox (the session cookie goes with it)
      fetch(`/api/citizens/me/notifications/${encodeURIComponent(notice)}/read`, {
        method: "POST", credentials: "same-origin", headers: { Accept: "application/json" },
      }).catch(() => {});
    }
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const w of windows) {
      if (w.url === url.href && "focus" in w) return w.focus();
    }
    return self.clients.openWindow(url.href);
  })());
});
