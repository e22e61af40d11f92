// Console enhancements; every page works without this file.
(function () {
  "use strict";
  // Keyboard shortcuts: "g" then a letter goes to a section; "/" focuses a search box.
  var sections = { o: "/console", c: "/console/contacts", k: "/console/concerns", n: "/console/canned", a: "/console/audit", s: "/console/staff", r: "/console/reach" };
  var pending = false;
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.ctrlKey || e.metaKey || e.altKey || (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName)))) { return; }
    if (pending && sections[e.key]) {
      var link = document.querySelector('a[href="' + sections[e.key] + '"]');
      if (link) { window.location.assign(sections[e.key]); }
      pending = false;
      return;
    }
    pending = e.key === "g";
    if (e.key === "/") {
      var search = document.querySelector('input[type="search"], #f-actor');
      if (search) { e.preventDefault(); search.focus(); }
    }
  });
  document.documentElement.classList.add("js");
  // Report filters: only the fields of the chosen period are shown (without this file the
  // page shows them after Show is pressed).
  var period = document.getElementById("r-period");
  if (period) {
    period.addEventListener("change", function () {
      Array.prototype.forEach.call(document.querySelectorAll(".report-filters [data-periods]"), function (d) {
        d.hidden = d.getAttribute("data-periods").split(" ").indexOf(period.value) < 0;
      });
    });
  }
  // Live counts: concerns waiting for a decision and chats waiting in the queue, for those
  // who can see them. A new chat plays a short tone and, if allowed, shows a notification.
  var badge = document.getElementById("live-concerns");
  var chats = document.getElementById("live-chats");
  if (!badge && !chats) { return; }
  var queue = document.getElementById("chat-queue");
  var notify = document.getElementById("enable-notifications");
  var waiting = -1;
  if (notify && window.Notification) {
    notify.hidden = Notification.permission !== "default";
    notify.addEventListener("click", function () {
      Notification.requestPermission().then(function () { notify.hidden = true; });
    });
  } else if (notify) { notify.hidden = true; }
  function tone() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      var ctx = new Ctx();
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.frequency.value = 660;
      gain.gain.value = 0.08;
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.25);
    } catch (e) { /* no sound available */ }
  }
  function show(el, n) {
    if (!el) { return; }
    el.textContent = n > 0 ? String(n) : "";
    el.hidden = n === 0;
  }
  function refresh() {
    fetch("/console/live", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        show(badge, data.open_concerns);
        show(chats, data.waiting_chats);
        // Unread messages in the practitioner's other chats (the one open here is being read).
        (data.held || []).forEach(function (h) {
          var el = document.querySelector('[data-unread="' + h.id + '"]');
          if (!el || el.closest(".current")) { return; }
          el.textContent = h.text;
          el.hidden = h.unread === 0;
        });
        if (waiting >= 0 && data.waiting_chats > waiting) {
          tone();
          if (notify && window.Notification && Notification.permission === "granted") {
            new Notification(notify.getAttribute("data-title"), { body: notify.getAttribute("data-body"), tag: "reachline-chat" });
          }
          if (queue) { window.location.reload(); }
        } else if (queue && data.waiting_chats !== waiting && waiting >= 0) {
          window.location.reload();
        }
        waiting = data.waiting_chats;
      })
      .catch(function () {});
  }
  refresh();
  window.setInterval(refresh, chats ? (document.getElementById("held-chats") ? 3000 : 5000) : 30000);
})();
