// callhook console behaviour. Everything works without it; it adds copy
// buttons, confirmations and live updates over the WebSocket feed.
(function () {
  "use strict";

  // Buttons that need JavaScript stay hidden without it.
  document.querySelectorAll(".js-only[hidden]").forEach(function (el) { el.hidden = false; });

  // The menu folds behind its button on a narrow screen (app.css); without
  // this script it stays open.
  var topbar = document.querySelector(".topbar");
  var toggle = topbar && topbar.querySelector(".nav-toggle");
  if (toggle) {
    topbar.classList.add("nav-folded");
    toggle.addEventListener("click", function () {
      var open = topbar.classList.toggle("nav-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // Times: the server writes <time datetime="RFC3339" data-time="relative|clock">
  // with a UTC text; here they are shown in the browser's zone. "relative"
  // shows "3 min ago" with the full local timestamp on hover; "clock" (event
  // timelines) shows the local time of day with the relative time on hover.
  // They are kept current every 30 s and after every live refresh.
  var fullFmt = new Intl.DateTimeFormat(undefined, { weekday: "short", year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" });
  var dateFmt = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  var clockFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  var dayClockFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  function ago(d, now) {
    var s = Math.round((now - d) / 1000);
    var future = s < 0;
    s = Math.abs(s);
    var t;
    if (s < 45) return "just now";
    if (s < 3600) t = Math.round(s / 60) + " min";
    else if (s < 86400) t = Math.round(s / 3600) + " h";
    else if (s < 7 * 86400) { var n = Math.round(s / 86400); t = n + (n === 1 ? " day" : " days"); }
    else return null;
    return future ? "in " + t : t + " ago";
  }
  function showTimes(root) {
    var now = Date.now();
    (root || document).querySelectorAll("time[data-time]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      var rel = ago(d, now);
      var full = fullFmt.format(d);
      if (el.getAttribute("data-time") === "clock") {
        var today = new Date(now).toDateString() === d.toDateString();
        el.textContent = (today ? clockFmt : dayClockFmt).format(d);
        el.title = full + (rel ? " (" + rel + ")" : "");
      } else {
        el.textContent = rel || dateFmt.format(d);
        el.title = full;
      }
    });
  }
  showTimes(document);
  setInterval(function () { showTimes(document); }, 30000);
  document.addEventListener("live:updated", function (ev) { showTimes(ev.target); });

  // <form data-copy-fetch>: posts the form and puts the text answer on the
  // clipboard without showing it (the channel's full callback URL).
  document.addEventListener("submit", function (ev) {
    var f = ev.target.closest("form[data-copy-fetch]");
    if (!f) return;
    ev.preventDefault();
    var b = f.querySelector("button");
    fetch(f.action, { method: "POST", body: new URLSearchParams(new FormData(f)), credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (text) { return navigator.clipboard.writeText(text); })
      .then(function () { var t = b.textContent; b.textContent = "Copied"; setTimeout(function () { b.textContent = t; }, 1500); })
      .catch(function () { b.textContent = "Copy failed: use Reveal"; });
  });

  // Copy buttons: <button data-copy="#input-id">.
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-copy]");
    if (!b) return;
    var el = document.querySelector(b.getAttribute("data-copy"));
    if (!el) return;
    var text = el.value !== undefined ? el.value : el.textContent;
    var done = function () { var t = b.textContent; b.textContent = "Copied"; setTimeout(function () { b.textContent = t; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { el.select && el.select(); document.execCommand("copy"); done(); });
    } else { el.select && el.select(); document.execCommand("copy"); done(); }
  });

  // Confirmations: <form data-confirm="Delete channel x?">.
  document.addEventListener("submit", function (ev) {
    var f = ev.target.closest("form[data-confirm]");
    if (f && !window.confirm(f.getAttribute("data-confirm"))) ev.preventDefault();
  });

  // Live updates: <body data-live-after="SEQ">. Pages mark live regions with
  // data-live="calls|alerts|callbacks|call:ID|alert:ID"; on a matching message
  // the region is refreshed from its data-live-src URL (an HTML fragment).
  var body = document.body;
  if (!body.hasAttribute("data-live-after")) return;
  var last = parseInt(body.getAttribute("data-live-after"), 10);
  var indicator = document.getElementById("live-indicator");
  var delay = 1000;
  var pending = {};
  function setState(s, label) { if (indicator) { indicator.dataset.state = s; indicator.textContent = label; } }
  function refresh(region) {
    var src = region.getAttribute("data-live-src");
    if (!src || pending[src]) return;
    pending[src] = setTimeout(function () {
      delete pending[src];
      fetch(src, { headers: { "Accept": "text/html", "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) { region.innerHTML = html; region.dispatchEvent(new CustomEvent("live:updated", { bubbles: true })); })
        .catch(function () {});
    }, 150);
  }
  function matches(region, m) {
    var keys = (region.getAttribute("data-live") || "").split(/\s+/);
    for (var i = 0; i < keys.length; i++) {
      var k = keys[i];
      if (k === "all") return true;
      if (k === "calls" && (m.type.indexOf("call") === 0 || m.type === "event")) return true;
      if (k === "alerts" && (m.type.indexOf("alert") === 0 || m.alert_id)) return true;
      if (k === "callbacks" && m.type === "callback") return true;
      if (k === "channels" && m.type.indexOf("channel") === 0) return true;
      if (m.call_id && k === "call:" + m.call_id) return true;
      if (m.alert_id && k === "alert:" + m.alert_id) return true;
    }
    return false;
  }
  function connect() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var url = proto + location.host + "/api/v1/stream" + (last >= 0 ? "?after=" + last : "");
    var ws;
    try { ws = new WebSocket(url); } catch (e) { return retry(); }
    setState("connecting", "connecting…");
    ws.onopen = function () { delay = 1000; setState("open", "live"); };
    ws.onmessage = function (ev) {
      var m; try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.type === "hello") { if (last < 0) last = m.seq; return; }
      if (m.type === "call.notification") { notify(m); return; }
      if (m.seq) last = m.seq;
      document.querySelectorAll("[data-live]").forEach(function (r) { if (matches(r, m)) refresh(r); });
    };
    ws.onclose = function () { setState("closed", "reconnecting…"); retry(); };
  }
  function retry() { setTimeout(connect, delay); delay = Math.min(delay * 2, 15000); }
  function notify(m) {
    var box = document.getElementById("notifications");
    if (!box) return;
    var div = document.createElement("div");
    div.className = "flash warning";
    div.setAttribute("role", "alert");
    var from = (m.events && m.events[0] && m.events[0].from) || "unknown caller";
    div.textContent = "Incoming call from " + from;
    box.prepend(div);
  }
  connect();
})();
