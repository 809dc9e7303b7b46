// Renders the launch's BPMN diagram with bpmn-js (served from our own origin) and marks progress:
// completed tasks green, ready tasks blue. Everything else on the page works without this script.
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
  fetch(container.dataset.src, { credentials: "same-origin" })
    .then(function (response) { return response.text(); })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      split(container.dataset.completed).forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, "lg-completed"); }
      });
      split(container.dataset.ready).forEach(function (id) {
        if (registry.get(id)) { canvas.addMarker(id, "lg-ready"); }
      });
      canvas.zoom("fit-viewport");
      container.setAttribute("data-rendered", "true");
    })
    .catch(function (error) {
      container.textContent = "The diagram could not be shown: " + error.message;
    });
})();
