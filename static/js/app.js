// payram: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  function modal() { return document.getElementById("modal"); }

  function openModal() {
    var dialog = modal();
    if (dialog && !dialog.open) {
      if (typeof dialog.showModal === "function") { dialog.showModal(); } else { dialog.setAttribute("open", ""); }
    }
    var first = dialog && dialog.querySelector("input:not([type=hidden]), select, textarea");
    if (first) { first.focus(); }
  }

  function closeModal() {
    var dialog = modal();
    if (dialog && dialog.open) { dialog.close(); }
    var body = document.getElementById("modal-body");
    if (body) { body.innerHTML = ""; }
  }

  // Copy the public URL.
  function copyText(button) {
    var target = document.querySelector(button.getAttribute("data-copy-target"));
    if (!target) { return; }
    var text = target.value || target.textContent;
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1600);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { target.select(); document.execCommand("copy"); done(); });
    } else {
      if (target.select) { target.select(); }
      try { document.execCommand("copy"); done(); } catch (e) { /* the URL stays selected for the user */ }
    }
  }

  // Native share sheet, only where the browser has one.
  function setupShare() {
    document.querySelectorAll("[data-native-share]").forEach(function (button) {
      if (typeof navigator.share === "function") { button.hidden = false; }
    });
  }

  function nativeShare(button) {
    navigator.share({
      title: button.getAttribute("data-share-title") || "",
      text: button.getAttribute("data-share-text") || "",
      url: button.getAttribute("data-share-url") || ""
    }).catch(function () { /* the user closed the sheet */ });
  }

  // Member picker: a suggestion fills the member field.
  function pickMember(option) {
    var input = document.getElementById(option.getAttribute("data-input") || "id_member");
    if (!input) { return; }
    input.value = option.getAttribute("data-email");
    var results = document.getElementById("member-results");
    if (results) {
      results.innerHTML = "";
      var picked = document.createElement("div");
      picked.className = "picked";
      picked.textContent = "Selected: " + option.getAttribute("data-label");
      results.appendChild(picked);
    }
    input.focus();
  }

  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-copy-target], [data-native-share], [data-pick-member], [data-modal-close]");
    if (!el) { return; }
    if (el.hasAttribute("data-copy-target")) { event.preventDefault(); copyText(el); }
    else if (el.hasAttribute("data-native-share")) { event.preventDefault(); nativeShare(el); }
    else if (el.hasAttribute("data-pick-member")) { event.preventDefault(); pickMember(el); }
    else if (el.hasAttribute("data-modal-close")) { event.preventDefault(); closeModal(); }
  });

  // An open Payments menu closes on a click elsewhere or on Escape.
  function closeMenus(except) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (menu !== except) { menu.removeAttribute("open"); }
    });
  }
  document.addEventListener("click", function (event) { closeMenus(event.target.closest("details.menu")); });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    closeMenus(null);
    var navToggle = document.getElementById("nav-toggle");  // the phone menu folds away too
    if (navToggle && navToggle.checked) { navToggle.checked = false; }
  });

  // A click on the backdrop closes the modal.
  document.addEventListener("click", function (event) {
    var dialog = modal();
    if (dialog && event.target === dialog) { closeModal(); }
  });

  // Content swapped into the modal opens it.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail && event.detail.target && event.detail.target.id === "modal-body") {
      if (event.detail.target.innerHTML.trim()) { openModal(); } else { closeModal(); }
    }
  });

  // The server says a member was created (HX-Trigger): select it in the form and close the modal.
  document.addEventListener("memberCreated", function (event) {
    var detail = event.detail || {};
    var input = document.getElementById("id_member");
    var project = document.getElementById("id_project");
    if (project && detail.project) { project.value = String(detail.project); }
    if (input && detail.email) {
      input.value = detail.email;
      var results = document.getElementById("member-results");
      if (results) {
        results.innerHTML = "";
        var picked = document.createElement("div");
        picked.className = "picked";
        picked.textContent = "Selected: " + (detail.label || detail.email);
        results.appendChild(picked);
      }
    }
    closeModal();
  });

  // Changing project clears a member that belongs to the old one.
  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "id_project" && event.target.hasAttribute("data-clears-member")) {
      var results = document.getElementById("member-results");
      if (results) { results.innerHTML = ""; }
    }
  });

  document.addEventListener("DOMContentLoaded", setupShare);
})();
