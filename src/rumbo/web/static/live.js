// Live updates for the tracking page. Without this script the page is complete;
// with it, the status, progress and history refresh when the order changes.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.EventSource || !window.fetch) return;
  var fragmentUrl = live.getAttribute("data-fragment");
  var source = new EventSource(live.getAttribute("data-events"));
  var busy = false, again = false;

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(fragmentUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        live.innerHTML = html;
        live.classList.remove("is-updated");
        void live.offsetWidth; // restart the highlight
        live.classList.add("is-updated");
        live.setAttribute("data-updated", String(Date.now()));
        var announcer = document.getElementById("live-announcer");
        var title = document.getElementById("status-title");
        if (announcer && title) announcer.textContent = title.textContent;
      })
      .catch(function () { /* the next event or a reload will catch up */ })
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  source.addEventListener("changed", refresh);
  window.addEventListener("pagehide", function () { source.close(); });
})();
