// Small helpers for the staff console; no inline scripts, so the pages can forbid them.
(function () {
  "use strict";
  var left = document.getElementById("left");
  if (left) {
    // A temporary code's countdown: whoever holds the printout sees when it stops working. The
    // words come from the page, in its language ("{minutes}" is where the number goes).
    var end = Date.parse(left.dataset.expires);
    var tick = function () {
      var minutes = Math.max(0, Math.ceil((end - Date.now()) / 60000));
      left.textContent = minutes > 0 ? left.dataset.words.replace("{minutes}", minutes) : left.dataset.expired;
    };
    tick();
    setInterval(tick, 15000);
  }
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.dataset.copy);
      var done = function () { button.textContent = "Copied"; };
      field.select();
      if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
      else { document.execCommand("copy"); done(); }
    });
  });
  // A policy field's own value (a number, a grade) means "set here": choosing one picks that
  // option, so a value typed next to "As the district" is not silently thrown away.
  document.querySelectorAll("[data-choose]").forEach(function (field) {
    var choose = function () { document.getElementById(field.dataset.choose).checked = true; };
    field.addEventListener("input", choose);
    field.addEventListener("change", choose);
  });
  document.querySelectorAll("[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
})();
