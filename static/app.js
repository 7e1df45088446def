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

  // Attention: the tab title carries the number of firing alerts, and an
  // opt-in (remembered in localStorage) raises a browser notification and a
  // short tone for a newly firing alert or an inbound call.
  var baseTitle = document.title;
  function setFiring(n) {
    if (typeof n !== "number") return;
    document.title = n > 0 ? "(" + n + ") " + baseTitle : baseTitle;
  }
  var attentionKey = "callhook.attention";
  var attnBtn = document.getElementById("attention-toggle");
  function attentionOn() {
    try { return localStorage.getItem(attentionKey) === "on"; } catch (e) { return false; }
  }
  function showAttention() {
    if (!attnBtn) return;
    var on = attentionOn();
    attnBtn.setAttribute("aria-pressed", on ? "true" : "false");
    attnBtn.textContent = on ? "Notifications on" : "Notify me";
  }
  if (attnBtn) {
    if (!("Notification" in window)) attnBtn.hidden = true;
    showAttention();
    attnBtn.addEventListener("click", function () {
      if (attentionOn()) { try { localStorage.removeItem(attentionKey); } catch (e) {} showAttention(); return; }
      var enable = function (perm) {
        if (perm === "granted") { try { localStorage.setItem(attentionKey, "on"); } catch (e) {} }
        showAttention();
      };
      if (Notification.permission === "granted") enable("granted");
      else Notification.requestPermission().then(enable, function () {});
    });
  }
  var audio = null;
  function tone() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = 880; g.gain.value = 0.1;
      o.connect(g); g.connect(audio.destination);
      o.start(); o.stop(audio.currentTime + 0.25);
    } catch (e) {}
  }
  function attention(title, text, tag) {
    if (!attentionOn() || !("Notification" in window) || Notification.permission !== "granted") return;
    try { new Notification(title, { body: text, tag: tag }); } catch (e) {}
    tone();
  }

  // Live updates: <body data-live-after="SEQ">. Regions carry
  // data-topic="dashboard|calls|alerts|callbacks|stats|call:ID|alert:ID"; the
  // page opens /live with its topics and the server pushes the regions' new
  // rows and contents, rendered once for every console (internal/live). A
  // region with data-live-insert takes new rows ("top" or "bottom", at most
  // data-live-limit); data-live-src re-fetches it when the page fell too far
  // behind.
  var body = document.body;
  if (!body.hasAttribute("data-live-after")) return;
  var last = parseInt(body.getAttribute("data-live-after"), 10);
  var indicator = document.getElementById("live-indicator");
  var topics = [];
  document.querySelectorAll("[data-topic]").forEach(function (r) {
    var t = r.getAttribute("data-topic");
    if (t && topics.indexOf(t) < 0) topics.push(t);
  });
  var delay = 500, ws = null, heard = 0, failed = false;
  function setState(s, label) { if (indicator) { indicator.dataset.state = s; indicator.textContent = label; } }
  function stale() { failed = true; setState("stale", "stale"); }
  function fixForms(el) {
    // Fragments are rendered once for everyone: the session's token and
    // the page to return to are filled in here.
    el.querySelectorAll("input[name=_csrf]").forEach(function (i) { if (!i.value) i.value = body.getAttribute("data-csrf") || ""; });
    el.querySelectorAll("input[name=next]").forEach(function (i) { if (!i.value) i.value = location.pathname + location.search; });
  }
  function updated(region) { region.dispatchEvent(new CustomEvent("live:updated", { bubbles: true })); }
  function refetch(region) {
    var src = region && region.getAttribute("data-live-src");
    if (!src) return Promise.resolve();
    return fetch(src, { headers: { "Accept": "text/html", "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) { region.innerHTML = html; updated(region); })
      .catch(function () { stale(); reconnect(); });
  }
  function parse(html) {
    var t = document.createElement("template");
    t.innerHTML = html;
    fixForms(t.content);
    return t.content.firstElementChild;
  }
  function apply(f) {
    var region = document.getElementById(f.region);
    if (!region) return;
    if (f.op === "inner") {
      var t = document.createElement("template");
      t.innerHTML = f.html;
      fixForms(t.content);
      region.replaceChildren(t.content);
    } else if (f.op === "remove") {
      var gone = document.getElementById(f.id);
      if (gone && region.contains(gone)) gone.remove();
    } else if (f.op === "row") {
      var el = parse(f.html);
      if (!el) return;
      var old = document.getElementById(f.id);
      if (old && region.contains(old)) { old.replaceWith(el); }
      else {
        var where = region.getAttribute("data-live-insert");
        if (!where) return;
        var rows = region.querySelector("[data-live-rows]");
        if (!rows) { refetch(region); return; } // the empty state: render the list once
        if (where === "bottom") rows.append(el); else rows.prepend(el);
        var limit = parseInt(region.getAttribute("data-live-limit") || "0", 10);
        while (limit > 0 && rows.children.length > limit) rows.lastElementChild.remove();
      }
    }
    updated(region);
  }
  // A message holds one frame, or several, one JSON object a line, when
  // the server had more than one waiting for this page.
  function onMessage(ev) {
    heard = Date.now();
    String(ev.data).split("\n").forEach(onFrame);
  }
  function onFrame(text) {
    var m; try { m = JSON.parse(text); } catch (e) { return; }
    switch (m.type) {
    case "push":
      try { m.frags.forEach(apply); } catch (e) { stale(); return; }
      if (m.seq > last) last = m.seq;
      return;
    case "attention":
      setFiring(m.firing);
      (m.new || []).forEach(function (a) { attention("Alert firing", "#" + a.id + " " + a.title, "alert-" + a.id); });
      if (m.seq > last) last = m.seq;
      return;
    case "hello":
      setFiring(m.firing);
      if (m.seq > last) last = m.seq;
      failed = false; setState("open", "live");
      return;
    case "reload":
      setFiring(m.firing);
      Promise.all(Array.prototype.map.call(document.querySelectorAll("[data-topic][data-live-src]"), refetch)).then(function () {
        if (m.seq > last) last = m.seq;
        if (!failed) setState("open", "live");
      });
      return;
    case "ping":
      if (!failed && indicator && indicator.dataset.state !== "open") setState("open", "live");
      return;
    case "call.notification":
      notify(m);
      return;
    }
  }
  function connect() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var url = proto + location.host + "/live?topics=" + encodeURIComponent(topics.join(",")) + (last >= 0 ? "&after=" + last : "");
    try { ws = new WebSocket(url); } catch (e) { ws = null; return retry(); }
    heard = Date.now();
    if (!failed) setState("connecting", "connecting…");
    var self = ws;
    ws.onopen = function () { delay = 500; };
    ws.onmessage = function (ev) { if (self === ws) onMessage(ev); };
    ws.onclose = function () { if (self !== ws) return; ws = null; stale(); retry(); };
  }
  function reconnect() {
    if (ws) { var old = ws; ws = null; try { old.close(); } catch (e) {} retry(); }
  }
  var timer = null;
  function retry() {
    // Offline, the "online" listener below connects again: retrying now
    // would only fail and lengthen the back-off.
    if (timer || navigator.onLine === false) return;
    timer = setTimeout(function () { timer = null; connect(); }, delay);
    delay = Math.min(delay * 2, 15000);
  }
  // The server speaks every 2 s (internal/live/console.go): 4.5 s of
  // silence means the network is gone even if the socket has not noticed.
  setInterval(function () {
    if (ws && Date.now() - heard > 4500) { stale(); reconnect(); }
  }, 1000);
  // The browser knows when it goes offline, but an open WebSocket may not
  // notice for minutes, and Chromium's offline emulation does not cut it at
  // all: the page calls itself stale and lets go of the socket at once, and
  // resumes with ?after= when the network is back.
  window.addEventListener("offline", function () {
    stale();
    if (timer) { clearTimeout(timer); timer = null; }
    if (ws) { var old = ws; ws = null; try { old.close(); } catch (e) {} }
  });
  window.addEventListener("online", function () { if (!ws) { delay = 500; if (timer) { clearTimeout(timer); timer = null; } connect(); } });
  function notify(m) {
    var from = (m.events && m.events[0] && m.events[0].from) || "unknown caller";
    attention("Incoming call", "from " + from, "call");
    var box = document.getElementById("notifications");
    if (!box) return;
    var div = document.createElement("div");
    div.className = "flash warning";
    div.setAttribute("role", "alert");
    div.textContent = "Incoming call from " + from;
    box.prepend(div);
  }
  connect();
})();
