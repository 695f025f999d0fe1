// The student dashboard's idle time-out: on a shared computer an abandoned session is the
// next child's session. After idle-seconds untouched a "Still here?" card gives 20 seconds,
// then the page signs out on the server (the same form as the Sign out button).
(function () {
  "use strict";
  var script = document.currentScript;
  var idleMs = Number(script.dataset.idleSeconds) * 1000;
  var graceMs = Math.min(20000, idleMs / 2);
  var form = document.getElementById("sign-out");
  var card = document.getElementById("still-here");
  var warnTimer = null;
  var endTimer = null;

  function signOut() {
    form.elements.reason.value = "idle";
    form.submit();
  }

  function restart() {
    card.hidden = true;
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    warnTimer = setTimeout(function () {
      card.hidden = false;
      document.getElementById("here").focus();
      endTimer = setTimeout(signOut, graceMs);
    }, idleMs - graceMs);
  }

  ["pointerdown", "keydown", "touchstart", "wheel"].forEach(function (kind) {
    document.addEventListener(kind, function () {
      if (card.hidden) restart();
    }, { passive: true });
  });
  document.getElementById("here").addEventListener("click", restart);
  // Coming back with the back button from an app: check the session is still alive.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) window.location.reload();
  });
  restart();
})();
