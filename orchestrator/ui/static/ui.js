/* stackrun's live pages: a run's log and a pipeline's DAG over Server-Sent Events.
   Everything inserted is either text or HTML the server escaped (ANSI colours as spans). */
(function () {
  "use strict";
  var sources = [];

  function closeAll() {
    sources.forEach(function (source) { source.close(); });
    sources = [];
  }

  function open(url) {
    var source = new EventSource(url);
    sources.push(source);
    return source;
  }

  function ended(id, text) {
    var badge = document.getElementById(id);
    if (badge) { badge.textContent = text; badge.classList.remove("live"); }
  }

  function refreshHead() {
    /* The state, timeline-independent head and the buttons the new state allows. */
    if (window.htmx && document.getElementById("run-head")) {
      window.htmx.ajax("GET", window.location.pathname,
        { target: "#run-head", select: "#run-head", swap: "outerHTML" });
    }
  }

  function claim(element) {
    if (!element || element.getAttribute("data-live") === "yes") { return false; }
    element.setAttribute("data-live", "yes");
    return true;
  }

  function initLog(root) {
    var log = root.querySelector("#log[data-stream]");
    if (!claim(log)) { return; }
    var source = open(log.getAttribute("data-stream"));
    source.addEventListener("state", refreshHead);
    source.addEventListener("log", function (event) {
      var atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
      log.insertAdjacentHTML("beforeend", JSON.parse(event.data).html);
      if (atBottom) { log.scrollTop = log.scrollHeight; }
    });
    source.addEventListener("end", function (event) {
      source.close();
      ended("log-live", "complete (" + (JSON.parse(event.data).state || "") + ")");
      refreshHead();
    });
  }

  function stateSpan(state) {
    var span = document.createElement("span");
    span.className = "state s-" + state.toLowerCase();
    span.textContent = state;
    return span;
  }

  function recolour(dag, key, state) {
    var node = dag.querySelector('[data-node="' + key + '"]');
    if (node) { node.setAttribute("class", "node s-" + state.toLowerCase()); }
    var label = dag.querySelector('[data-state-of="' + key + '"]');
    if (label) { label.textContent = state; }
    var cell = document.querySelector('[data-state-cell="' + key + '"]');
    if (cell) { cell.replaceChildren(stateSpan(state)); }
  }

  function initDag(root) {
    var dag = root.querySelector("#dag[data-stream]");
    if (!claim(dag)) { return; }
    var source = open(dag.getAttribute("data-stream"));
    source.addEventListener("states", function (event) {
      var states = JSON.parse(event.data);
      Object.keys(states).forEach(function (key) { recolour(dag, key, states[key]); });
    });
    source.addEventListener("end", function () { source.close(); dag.setAttribute("data-ended", "yes"); });
  }

  function init(root) {
    initLog(root);
    initDag(root);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target === document.body) { closeAll(); }
  });
  document.addEventListener("htmx:afterSettle", function () { init(document); });
  window.addEventListener("pagehide", closeAll);
}());
