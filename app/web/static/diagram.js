/* The case's diagram (bpmn-js NavigatedViewer): markers `current` and `done`; and the auditor's replay,
   which moves `current` along the recorded path one step at a time. */
"use strict";

function diagramData() {
  return JSON.parse(document.getElementById("diagram-data").textContent);
}

async function openDiagram(xml) {
  const viewer = new BpmnJS({ container: "#canvas" });
  await viewer.importXML(xml);
  viewer.get("canvas").zoom("fit-viewport");
  return viewer;
}

function mark(viewer, ids, marker) {
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  ids.forEach(function (id) {
    if (id && registry.get(id)) { canvas.addMarker(id, marker); }
  });
}

async function showCase() {
  const data = diagramData();
  try {
    const viewer = await openDiagram(data.xml);
    mark(viewer, data.done, "done");
    mark(viewer, data.current, "current");
    document.getElementById("canvas").dataset.state = "ready";
  } catch (error) {
    document.getElementById("canvas").dataset.state = "failed";
    document.getElementById("canvas").textContent = String(error);
  }
}

async function showReplay() {
  const data = diagramData();
  const steps = data.steps;
  const canvasElement = document.getElementById("canvas");
  let viewer = null;
  try {
    viewer = await openDiagram(data.xml);
  } catch (error) {
    canvasElement.textContent = String(error);  // a process without a layout: the steps still read
  }
  const canvas = viewer ? viewer.get("canvas") : { addMarker: function () {}, removeMarker: function () {} };
  const registry = viewer ? viewer.get("elementRegistry") : { get: function () { return null; } };
  const number = document.getElementById("step-number");
  const text = document.getElementById("step-text");
  const previous = document.getElementById("step-previous");
  const next = document.getElementById("step-next");
  let index = 0;
  let marked = [];

  function show() {
    marked.forEach(function (item) { canvas.removeMarker(item[0], item[1]); });
    marked = [];
    // Activities stepped through are `done`; the step's own activity (or the last one before it) is `current`.
    let at = null;
    const passed = [];
    for (let i = 0; i <= index; i += 1) {
      const id = steps[i].activity;
      if (id && registry.get(id)) {
        if (at && at !== id && passed.indexOf(at) < 0) { passed.push(at); }
        at = id;
      }
    }
    passed.forEach(function (id) { if (id !== at) { marked.push([id, "done"]); } });
    if (at) { marked.push([at, "current"]); }
    marked.forEach(function (item) { canvas.addMarker(item[0], item[1]); });
    const step = steps[index];
    number.textContent = number.dataset.template.replace("{n}", index + 1).replace("{total}", steps.length);
    text.textContent = step ? step.when + "　" + (step.who ? step.who + "：" : "") + step.what : "";
    canvasElement.dataset.step = String(index + 1);
    canvasElement.dataset.current = at || "";
    previous.disabled = index === 0;
    next.disabled = index >= steps.length - 1;
  }

  previous.addEventListener("click", function () { if (index > 0) { index -= 1; show(); } });
  next.addEventListener("click", function () { if (index < steps.length - 1) { index += 1; show(); } });
  if (steps.length) { show(); } else { previous.disabled = true; next.disabled = true; }
  canvasElement.dataset.state = "ready";
}

if (document.body.dataset.diagram === "case") { showCase(); }
if (document.body.dataset.diagram === "replay") { showReplay(); }
