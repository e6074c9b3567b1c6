// wikitop's dashboard works without this file. It refreshes the overview while hours just asked for
// are queued or running (unless a field is in use), and fills the hour page's wiki picker with the
// names of every known wiki, so that typing "German Wi" suggests "German Wikibooks (de.b)".
"use strict";
(function () {
  var REFRESH_MS = 3000;
  function pending() {
    return document.querySelector('#asked tr[data-status="queued"], #asked tr[data-status="running"]');
  }
  function typing() {
    var active = document.activeElement;
    return active && (active.tagName === "INPUT" || active.tagName === "BUTTON");
  }
  function tick() {
    if (!pending()) return;
    if (typing()) { window.setTimeout(tick, REFRESH_MS); return; }
    window.location.reload();
  }
  function fillPicker() {
    var list = document.getElementById("domain-choices");
    if (!list || !list.dataset.source || !window.fetch) return;
    window.fetch(list.dataset.source, { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { items: [] }; })
      .then(function (body) {
        body.items.forEach(function (site) {
          var option = document.createElement("option");
          option.value = site.name + " (" + site.code + ")";
          list.appendChild(option);
        });
        list.dataset.filled = "true";
      })
      .catch(function () { /* the picker still takes a code or a whole name */ });
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (pending()) window.setTimeout(tick, REFRESH_MS);
    fillPicker();
  });
})();
