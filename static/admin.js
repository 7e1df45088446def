// callhook admin pages. Everything works without it; it submits provider
// type pickers on change and adds keypad mapping rows without a round trip.
(function () {
  "use strict";

  // <select data-autosubmit> in a GET form: show the chosen type's settings at once.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () { if (sel.form) sel.form.submit(); });
  });

  // Keypad mapping editor: "Add a row" clones the last row in place.
  var form = document.getElementById("dtmf-form");
  var add = document.getElementById("dtmf-add");
  if (!form || !add) return;
  add.addEventListener("click", function (ev) {
    var body = document.getElementById("dtmf-rows");
    var count = form.querySelector("input[name=rows]");
    var rows = body.querySelectorAll("tr.dtmf-row");
    if (!rows.length || !count) return; // let the server add it
    ev.preventDefault();
    var n = rows.length;
    var tr = rows[n - 1].cloneNode(true);
    tr.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
    tr.querySelectorAll("[id],[for],[name]").forEach(function (el) {
      ["id", "for", "name"].forEach(function (a) {
        var v = el.getAttribute(a);
        if (v) el.setAttribute(a, v.replace(/\d+$/, String(n)));
      });
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
      if (el.type === "checkbox") el.checked = false;
      else if (el.tagName === "INPUT") el.value = "";
      else if (el.tagName === "SELECT") el.selectedIndex = 0;
    });
    tr.querySelectorAll("label.sr-only").forEach(function (l) { l.textContent = l.textContent.replace(/\d+$/, String(n + 1)); });
    body.appendChild(tr);
    count.value = String(n + 1);
    var input = tr.querySelector("input[type=text]");
    if (input) input.focus();
  });
})();
