// Progressive enhancement only: the site works fully without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  // Quick exit: replace this page in the history (so Back does not return to it) and go.
  function leave(event) {
    if (event) { event.preventDefault(); }
    document.body.style.display = "none";
    window.location.replace("/exit");
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".quick-exit");
    if (link) { leave(event); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" || event.key === "Esc") { leave(event); }
  });
})();
