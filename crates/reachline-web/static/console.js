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
  // Live count of concerns waiting for a decision, for those who can see them.
  var badge = document.getElementById("live-concerns");
  if (!badge) { return; }
  function refresh() {
    fetch("/console/live", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        badge.textContent = data.open_concerns > 0 ? String(data.open_concerns) : "";
        badge.hidden = data.open_concerns === 0;
      })
      .catch(function () {});
  }
  refresh();
  window.setInterval(refresh, 30000);
})();
