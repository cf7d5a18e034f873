/* The service worker of mVoting (served at /sw.js, scope /): shows a Web Push message
 * of a new poll (live.notify.fanout) as a notification, in the language chosen on the
 * site (the mv_lang cookie the pages set; else the one the message names, the citizen's
 * when they allowed notifications; else the browser's), and opens the poll's page when
 * it is clicked, marking the notice read. */
"use strict";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

const LANGUAGES = ["en", "ko"];

async function chosenLanguage(message) {
  try {  // the Cookie Store API, where the browser has it in a service worker
    const cookie = self.cookieStore ? await self.cookieStore.get("mv_lang") : null;
    if (cookie && LANGUAGES.includes(cookie.value)) return cookie.value;
  } catch (e) { /* no cookie to read: the message's, else the browser's */ }
  if (LANGUAGES.includes(message.lang)) return message.lang;
  return (self.navigator.language || "en").toLowerCase().startsWith("ko") ? "ko" : "en";
}

self.addEventListener("push", (event) => {
  let message = {};
  try { message = event.data ? event.data.json() : {}; } catch (e) { message = {}; }
  if (!message.poll) return;
  const texts = message.texts || {};
  const title = message.title || "mVoting";
  event.waitUntil(chosenLanguage(message).then((lang) =>
    self.registration.showNotification(title, {
      body: texts[lang] || message.body || texts.en || "",
      lang,
      tag: `poll-${message.poll}`,
      icon: "/static/favicon.svg",
      data: { url: message.url || `/polls/${message.poll}`, notice: message.notice },
    })));
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
