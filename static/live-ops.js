// Operations pages (dashboard, calls, alerts, callbacks, stats): when app.js
// refreshes a live region, highlight the rows that are new or changed. Rows
// carry data-row="KIND-ID-STATE", so a status change counts as new.
(function () {
  "use strict";
  var seen = new WeakMap();
  function keys(region) {
    var s = new Set();
    region.querySelectorAll("[data-row]").forEach(function (r) { s.add(r.getAttribute("data-row")); });
    return s;
  }
  document.querySelectorAll("[data-live]").forEach(function (r) { seen.set(r, keys(r)); });
  document.addEventListener("live:updated", function (ev) {
    var region = ev.target;
    if (!region.hasAttribute || !region.hasAttribute("data-live")) return;
    var before = seen.get(region) || new Set();
    region.querySelectorAll("[data-row]").forEach(function (row) {
      if (!before.has(row.getAttribute("data-row"))) row.classList.add("flash-row");
    });
    seen.set(region, keys(region));
  });
})();
