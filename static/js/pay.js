// The pay page's small enhancements: Copy buttons and the quote countdown.
// No inline scripts anywhere (the page is meant to run under a strict CSP); everything
// here works by delegation, so fragments swapped in by htmx need no re-initialising.
(function () {
  "use strict";

  function revealCopyButtons(root) {
    // What is only true with this script running (the page polling itself).
    root.querySelectorAll("[data-js-only][hidden]").forEach(function (el) { el.hidden = false; });
    if (!navigator.clipboard) return;
    root.querySelectorAll("button[data-copy][hidden]").forEach(function (b) { b.hidden = false; });
  }

  // The page's words in the customer's language (templates/links/pay_base.html's <body data-*>).
  function words(name, fallback) { return (document.body && document.body.getAttribute("data-" + name)) || fallback; }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) return;
    navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
      var label = button.textContent;
      button.textContent = words("copied", "Copied");
      button.classList.add("copied");
      setTimeout(function () { button.textContent = label; button.classList.remove("copied"); }, 1500);
    });
  });

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function tick() {
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var display = el.parentElement.querySelector("[data-countdown-display]");
      if (!display) return;
      var left = Math.floor((Date.parse(el.getAttribute("datetime")) - Date.now()) / 1000);
      if (isNaN(left)) return;
      if (left <= 0) {
        display.textContent = "· " + words("expired", "expired");
        display.classList.add("over");
        // The next status poll swaps in the "Refresh quote" button.
        return;
      }
      var m = Math.floor(left / 60), s = left % 60;
      display.textContent = "· " + words("left", "{time} left").replace("{time}", m + ":" + pad(s));
      display.classList.toggle("soon", left < 120);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    revealCopyButtons(document);
    tick();
    setInterval(tick, 1000);
  });
  document.addEventListener("htmx:afterSwap", function () { revealCopyButtons(document); tick(); });
})();
