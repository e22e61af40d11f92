// A short dialogue: ask first, then show the ways to talk. Without this file all options
// are simply listed.
(function () {
  "use strict";
  var options = document.getElementById("w-options");
  var choice = document.getElementById("w-choice");
  var later = document.getElementById("w-later");
  if (!options || !choice || !later) { return; }
  options.hidden = true;
  choice.hidden = false;
  document.getElementById("w-yes").addEventListener("click", function () {
    choice.hidden = true;
    options.hidden = false;
    var first = options.querySelector("a");
    if (first) { first.focus(); }
  });
  document.getElementById("w-no").addEventListener("click", function () {
    choice.hidden = true;
    later.hidden = false;
  });
})();
