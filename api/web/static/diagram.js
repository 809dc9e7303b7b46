// Renders the launch's BPMN diagram with bpmn-js (served from our own origin) and marks progress:
// completed tasks green, ready tasks blue, events the launch waits for amber with what they wait for
// ("waits for message beta_done"). A sub-process (expanded, or collapsed with its drill-down) holding a
// ready task or a waiting event is marked as well, so the state inside it shows from the top level; a
// call activity says which process it calls and shows it (a pool here, or the called diagram's page). Everything else on the page works without this script.
(function () {
  "use strict";
  var container = document.getElementById("diagram");
  if (!container) { return; }
  if (typeof window.BpmnJS !== "function") {
    container.textContent = "The diagram viewer is not installed (tools/vendor-assets was not run).";
    return;
  }
  var viewer = new window.BpmnJS({ container: container });
  var split = function (value) { return (value || "").split(" ").filter(Boolean); };
  var parsed = function (value, fallback) {
    try { return JSON.parse(value || ""); } catch (ignored) { return fallback; }
  };
  var label = function (overlays, id, cls, text) {
    var note = document.createElement("div");
    note.className = "lg-note " + cls;
    note.textContent = text;
    overlays.add(id, { position: { bottom: -6, left: 0 }, html: note });
  };
  // Each sub-process around an element (its BPMN parents up to the process).
  var enclosing = function (registry, id) {
    var found = [];
    var element = registry.get(id);
    var node = element && element.businessObject && element.businessObject.$parent;
    while (node && node.$type !== "bpmn:Process" && node.$type !== "bpmn:Definitions") {
      if (node.$type === "bpmn:SubProcess" && node.id) { found.push(node.id); }
      node = node.$parent;
    }
    return found;
  };
  // A call activity names the process it calls; when that process is drawn here (a pool of this file)
  // the note is a button that shows it, else (a process of another diagram) a link to the launch page
  // showing that diagram. The call activity is marked while a task of the called process is ready.
  var callNote = function (canvas, registry, overlays, element, running) {
    var called = element.businessObject.calledElement;
    if (!called) { return; }
    var pool = registry.filter(function (shape) {
      return shape.type === "bpmn:Participant" && shape.businessObject.processRef &&
        shape.businessObject.processRef.id === called;
    })[0];
    var note = document.createElement(pool ? "button" : "a");
    note.className = "lg-note lg-call-note";
    note.textContent = "calls " + called;
    if (pool) {
      note.type = "button";
      note.addEventListener("click", function () {
        canvas.scrollToElement(pool);
        canvas.addMarker(pool.id, "lg-called");
      });
    } else {
      note.href = container.dataset.page + "?part=" + encodeURIComponent(called) + "#diagram-section";
    }
    overlays.add(element.id, { position: { bottom: -6, left: 0 }, html: note });
    if (running[called]) { canvas.addMarker(element.id, "lg-ready-inside"); }
    return pool ? null : element;
  };
  var mark = function (canvas, registry, id, marker) {
    if (registry.get(id)) { canvas.addMarker(id, marker); }
  };
  fetch(container.dataset.src, { credentials: "same-origin" })
    .then(function (response) { return response.text(); })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      var overlays = viewer.get("overlays");
      var texts = parsed(container.dataset.waitingText, {});
      split(container.dataset.completed).forEach(function (id) { mark(canvas, registry, id, "lg-completed"); });
      split(container.dataset.ready).forEach(function (id) {
        mark(canvas, registry, id, "lg-ready");
        enclosing(registry, id).forEach(function (sub) { mark(canvas, registry, sub, "lg-ready-inside"); });
      });
      parsed(container.dataset.waiting, []).forEach(function (id) {
        if (!registry.get(id)) { return; }
        canvas.addMarker(id, "lg-waiting");
        label(overlays, id, "lg-waiting-note", texts[id] || "waiting");
        enclosing(registry, id).forEach(function (sub) { mark(canvas, registry, sub, "lg-waiting-inside"); });
      });
      // The processes holding a ready task (the parts a call activity may run).
      var running = {};
      split(container.dataset.ready).forEach(function (id) {
        var element = registry.get(id);
        var node = element && element.businessObject;
        while (node && node.$type !== "bpmn:Process") { node = node.$parent; }
        if (node) { running[node.id] = true; }
      });
      var outside = registry.filter(function (element) { return element.type === "bpmn:CallActivity"; })
        .map(function (element) { return callNote(canvas, registry, overlays, element, running); })
        .filter(Boolean);
      // On the launch's own diagram, a ready task not drawn here runs in a called diagram: with one call
      // to another diagram, it is that one (a called part's page shows the launch's tasks too: no guess).
      var elsewhere = !container.dataset.part &&
        split(container.dataset.ready).some(function (id) { return !registry.get(id); });
      if (elsewhere && outside.length === 1) { canvas.addMarker(outside[0].id, "lg-ready-inside"); }
      canvas.zoom("fit-viewport");
      container.setAttribute("data-rendered", "true");
    })
    .catch(function (error) {
      container.textContent = "The diagram could not be shown: " + error.message;
    });
})();
