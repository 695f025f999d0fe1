// Arranging the dashboard: "Arrange" turns every tile into big move-earlier / move-later / hide
// buttons (a finger on a tablet, a mouse, or the keyboard: they are ordinary buttons), hidden
// apps can be shown again, and "Done" keeps the order on the server (PUT /api/v1/me/tiles), so it
// is the same on the kiosk, at school and at home. A teacher's pinned app stays first.
(function () {
  "use strict";
  var button = document.getElementById("arrange");
  var shown = document.getElementById("tiles");
  var hiddenList = document.getElementById("hidden-tiles");
  var hiddenSection = document.getElementById("hidden-apps");
  var error = document.getElementById("arrange-error");
  if (!button || !hiddenList) return;
  var arranging = false;
  // In the child's language, from the page (the same catalogues as the kiosk).
  var words = JSON.parse(document.currentScript.dataset.words);
  function say(key, name) { return words[key].replace("{name}", name || ""); }
  // Earlier is towards the start of the line: to the left in English, to the right in Arabic.
  var rtl = document.documentElement.dir === "rtl";
  var EARLIER = rtl ? "▶" : "◀", LATER = rtl ? "◀" : "▶";

  function control(label, symbol, kind, action) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "tile-control " + kind;
    b.setAttribute("aria-label", label);
    b.textContent = symbol;
    b.addEventListener("click", function (event) { event.preventDefault(); action(); });
    return b;
  }

  function addControls(item) {
    var name = item.dataset.appName;
    var box = document.createElement("div");
    box.className = "controls";
    if (item.parentElement === hiddenList) {
      box.appendChild(control(say("show_app", name), say("show"), "show", function () { move(item, shown, null); }));
    } else if (!item.dataset.pinned) {
      box.appendChild(control(say("earlier", name), EARLIER, "earlier", function () {
        var before = item.previousElementSibling;
        if (before && !before.dataset.pinned) shown.insertBefore(item, before);
        refocus(item, "earlier");
      }));
      box.appendChild(control(say("hide_app", name), say("hide"), "hide", function () { move(item, hiddenList, null); }));
      box.appendChild(control(say("later", name), LATER, "later", function () {
        var after = item.nextElementSibling;
        if (after) shown.insertBefore(after, item);
        refocus(item, "later");
      }));
    }
    item.appendChild(box);
  }

  function refocus(item, kind) {
    var again = item.querySelector(".tile-control." + kind);
    if (again) again.focus();
  }

  function move(item, list, before) {
    list.insertBefore(item, before);
    document.getElementById("no-hidden").hidden = hiddenList.children.length > 0;
    var old = item.querySelector(".controls");
    if (old) old.remove();
    addControls(item);
  }

  function ids(list) {
    return Array.prototype.map.call(list.children, function (li) { return li.dataset.appId; });
  }

  function start() {
    arranging = true;
    document.body.classList.add("arranging");
    button.setAttribute("aria-pressed", "true");
    button.textContent = "✓ " + say("done");
    hiddenSection.hidden = false;
    Array.prototype.forEach.call(shown.children, addControls);
    Array.prototype.forEach.call(hiddenList.children, addControls);
  }

  function done() {
    button.disabled = true;
    var body = { order: ids(shown).filter(function (id, i) { return !shown.children[i].dataset.pinned; }), hidden: ids(hiddenList) };
    fetch("/api/v1/me/tiles", {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin"
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      window.location.reload();
    }).catch(function () {
      button.disabled = false;
      error.hidden = false;
    });
  }

  // While arranging, a tap on a tile moves nothing and opens nothing.
  shown.addEventListener("click", function (event) {
    if (arranging && !event.target.closest(".tile-control")) event.preventDefault();
  });
  button.addEventListener("click", function () { if (arranging) done(); else start(); });
})();
