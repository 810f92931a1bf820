// The installed tracking page: shows pushed news, and opens offline with the last status seen.
"use strict";
var CACHE = "rumbo-shell-v1";
var SHELL = ["/static/rumbo.css", "/static/favicon.svg", "/static/chat.css"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); }));
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

// Tracking pages: the network first (the status must be fresh), the last copy when offline.
self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname.indexOf("/t/") === 0) {
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
