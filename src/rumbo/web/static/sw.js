// The installed tracking page: shows pushed news, and opens offline with the last status seen.
// The offline copy is only ever the anonymous view (status, dates, carrier progress): a page
// past the privacy gate is sent "Cache-Control: no-store" and never written to the cache.
"use strict";
// v1 could hold verified pages (name, address): a new name, and activate drops the old.
var CACHE = "rumbo-shell-v2";
var SHELL = ["/static/rumbo.css", "/static/favicon.svg", "/static/chat.css"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); }));
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return name !== CACHE; })
      .map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

// A response the server forbids any cache to keep (RFC 9111 no-store).
function storable(response) {
  return response.ok && !/no-store/i.test(response.headers.get("Cache-Control") || "");
}

// The copy to keep for offline: the page itself when it is the anonymous view, else the
// anonymous view fetched again without the gate's cookie.
function keepOffline(url, response) {
  var anonymous = storable(response)
    ? Promise.resolve(response.clone())
    : fetch(url.pathname + url.search, { credentials: "omit", cache: "no-store" });
  return anonymous.then(function (page) {
    if (!storable(page)) return;
    return caches.open(CACHE).then(function (cache) { return cache.put(url.pathname, page); });
  }).catch(function () {});
}

// Tracking pages: the network first (the status must be fresh), the last copy when offline.
self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname.indexOf("/t/") === 0) {
    event.respondWith(
      fetch(request).then(function (response) {
        event.waitUntil(keepOffline(url, response));
        return response;
      }).catch(function () {
        return caches.match(url.pathname).then(function (cached) {
          return cached || Response.error();
        });
      })
    );
  } else if (url.pathname.indexOf("/static/") === 0 || url.pathname.indexOf("/theme/") === 0) {
    // Styles, scripts and the store's colours: the network, else the copy kept last time.
    event.respondWith(
      fetch(request).then(function (response) {
        if (response.ok) {
          var copy = response.clone();
          caches.open(CACHE).then(function (cache) { cache.put(url.pathname, copy); });
        }
        return response;
      }).catch(function () {
        return caches.match(url.pathname).then(function (cached) {
          return cached || Response.error();
        });
      })
    );
  }
});

self.addEventListener("push", function (event) {
  var news = event.data ? event.data.json() : {};
  event.waitUntil(self.registration.showNotification(news.title || "", {
    body: news.body || "",
    lang: news.lang,
    tag: news.tag,
    renotify: true,
    icon: "/static/favicon.svg",
    data: { url: news.url }
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var target = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(self.clients.matchAll({ type: "window" }).then(function (windows) {
    for (var i = 0; i < windows.length; i++) {
      if (windows[i].url === target && "focus" in windows[i]) return windows[i].focus();
    }
    return self.clients.openWindow(target);
  }));
});
