/* Live PMO pages: when events arrive, fetch the server-rendered fragment and swap it in.
 *
 * A region marked data-live-fragment (the board, a card) is refreshed from that URL. Notices come from the
 * Server-Sent Events stream named by data-live-source; a region with data-live-task refreshes only for events
 * of that task (its plan id, or a later run "<plan id>-run<n>"). Without EventSource, or while the stream is
 * down, the region is polled instead. Nothing here is needed to read or use the page.
 */
(function () {
  "use strict";
  var POLL_MS = 5000;
  var DEBOUNCE_MS = 250;

  function concerns(region, tasks) {
    var task = region.getAttribute("data-live-task");
    if (!task) return true;
    for (var i = 0; i < tasks.length; i++) {
      if (tasks[i] === task || tasks[i].indexOf(task + "-run") === 0) return true;
    }
    return false;
  }

  function busy(region) {
    // Never replace a form the user is typing into.
    var active = document.activeElement;
    return active && region.contains(active) && /^(TEXTAREA|INPUT|SELECT)$/.test(active.tagName);
  }

  function setup(region) {
    var url = region.getAttribute("data-live-fragment");
    var source = region.getAttribute("data-live-source");
    var status = document.querySelector("[data-live-status]");
    var timer = null, inFlight = false, again = false, pollTimer = null;

    function refresh() {
      if (inFlight) { again = true; return; }
      if (busy(region)) { schedule(1000); return; }
      inFlight = true;
      fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (response) {
          if (!response.ok || response.redirected) throw new Error("refresh failed: " + response.status);
          return response.text();
        })
        .then(function (html) {
          var focusedId = document.activeElement && region.contains(document.activeElement) ? document.activeElement.id : "";
          region.innerHTML = html;
          if (focusedId) {
            var target = document.getElementById(focusedId);
            if (target) target.focus();
          }
          region.setAttribute("data-live-updated", String(Date.now()));
          if (status) status.textContent = "Updated " + new Date().toLocaleTimeString();
        })
        .catch(function () {
          if (status) status.textContent = "Live updates paused; retrying.";
        })
        .then(function () {
          inFlight = false;
          if (again) { again = false; schedule(DEBOUNCE_MS); }
        });
    }

    function schedule(delay) {
      if (timer) clearTimeout(timer);
      timer = setTimeout(function () { timer = null; refresh(); }, delay);
    }

    function startPolling() {
      if (!pollTimer) pollTimer = setInterval(refresh, POLL_MS);
    }

    function stopPolling() {
      if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
    }

    if (!source || typeof EventSource === "undefined") { startPolling(); return; }
    var stream = new EventSource(source);
    var opened = false;
    stream.addEventListener("open", function () {
      stopPolling();
      // Anything that happened while the stream was down: catch up once.
      if (opened) schedule(DEBOUNCE_MS);
      opened = true;
      region.setAttribute("data-live-connected", "true");
    });
    stream.addEventListener("change", function (message) {
      var tasks = [];
      try { tasks = JSON.parse(message.data).tasks || []; } catch (error) { tasks = []; }
      if (concerns(region, tasks)) schedule(DEBOUNCE_MS);
    });
    stream.addEventListener("error", function () {
      region.setAttribute("data-live-connected", "false");
      if (stream.readyState === EventSource.CLOSED) stream = null;
      startPolling();
    });
  }

  function start() {
    var regions = document.querySelectorAll("[data-live-fragment]");
    for (var i = 0; i < regions.length; i++) setup(regions[i]);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
