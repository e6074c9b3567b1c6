// wikitop's dashboard works without this file. It only refreshes the overview while hours just asked
// for are queued or running, so that their status shows without a reload (unless a field is in use).
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
  document.addEventListener("DOMContentLoaded", function () {
    if (pending()) window.setTimeout(tick, REFRESH_MS);
  });
})();
