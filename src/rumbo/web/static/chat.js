// The chat box of the tracking page. Without this script the form posts and the page
// comes back with the answer; with it, the exchange is appended here and the
// conversation goes on without leaving the page.
(function () {
  "use strict";
  var form = document.getElementById("chat-form");
  var log = document.getElementById("chat-log");
  if (!form || !log || !window.fetch || !window.FormData || !window.URLSearchParams) return;
  var input = form.querySelector("input[name=question]");
  var conversation = form.querySelector("input[name=conversation_id]");

  function partialUrl() {
    var url = new URL(form.getAttribute("action"), window.location.href);
    url.searchParams.set("partial", "1");
    return url.toString();
  }

  function append(html) {
    var holder = document.createElement("ol");
    holder.innerHTML = html;
    var items = Array.prototype.slice.call(holder.children);
    items.forEach(function (item) {
      var id = item.getAttribute("data-conversation");
      if (id) { conversation.value = id; return; }
      log.appendChild(item);
    });
    var last = log.lastElementChild;
    if (last && last.scrollIntoView) last.scrollIntoView({ block: "nearest" });
  }

  form.addEventListener("submit", function (event) {
    if (!input.value.trim()) return; // let the browser say the field is required
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") return;
    form.setAttribute("aria-busy", "true");
    var body = new URLSearchParams(new FormData(form));
    fetch(partialUrl(), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "text/html" }
    })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        append(html);
        input.value = "";
      })
      .catch(function () { form.submit(); })
      .then(function () {
        form.removeAttribute("aria-busy");
        input.focus();
      });
  });
})();
