// "Get notified on this device" and the channel choices, shown once the order is verified.
// The service worker (/sw.js) also keeps the last anonymous view (never the verified one) for offline.
(function () {
  "use strict";
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/t/" }).catch(function () {});
  }
  var box = document.getElementById("notify");
  if (!box) return;
  var state = document.getElementById("notify-state");
  var headers = { "Content-Type": "application/json", "X-Tracking-Token": box.dataset.token };

  function say(text) { state.textContent = text; }

  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4))
      .replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  var button = document.getElementById("push-on");
  if (button && "serviceWorker" in navigator && "PushManager" in window && "Notification" in window) {
    fetch(box.dataset.keyUrl).then(function (r) { return r.json(); }).then(function (key) {
      if (!key.public_key) return;  // push is off on this server
      button.hidden = false;
      button.addEventListener("click", function () {
        Notification.requestPermission().then(function (permission) {
          if (permission !== "granted") { say(box.dataset.refused); return null; }
          return navigator.serviceWorker.ready.then(function (registration) {
            return registration.pushManager.subscribe({
              userVisibleOnly: true,
              applicationServerKey: keyBytes(key.public_key)
            });
          }).then(function (subscription) {
            var body = subscription.toJSON();
            body.language = box.dataset.lang;
            return fetch(box.dataset.subscriptions, {
              method: "POST", headers: headers, body: JSON.stringify(body)
            });
          }).then(function (response) {
            if (!response.ok) throw new Error(String(response.status));
            button.hidden = true;
            say(box.dataset.on);
          });
        }).catch(function () { say(box.dataset.failed); });
      });
    }).catch(function () {});
  }

  // E-mail, SMS and WhatsApp: each box turns its channel on or off for this order.
  var boxes = box.querySelectorAll("input[data-channel]");
  Array.prototype.forEach.call(boxes, function (input) {
    input.addEventListener("change", function () {
      var on = input.checked;
      var body = {};
      body[input.dataset.channel] = on;
      fetch(box.dataset.preferences, {
        method: "PUT", headers: headers, body: JSON.stringify(body)
      }).then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        say(box.dataset.saved);
      }).catch(function () { input.checked = !on; say(box.dataset.notSaved); });
    });
  });
})();
