// The hotspot map editor: clicks on the map add vertices of a point, a line or a polygon (a placed
// hotspot starts with its own vertices, to extend or undo); the drawn shape goes into the form's
// `geometry` field as GeoJSON ([lon, lat], polygon ring closed).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const editor = document.getElementById("editor");
  if (!editor) return;
  const p = Object.fromEntries(["minLon", "maxLat", "fx", "fy", "ox", "oy"].map((k) => [k, Number(editor.dataset[k])]));
  const layer = editor.querySelector("svg.editor-layer");
  const drawn = layer.querySelector("path.drawn");
  const vertices = layer.querySelector("g.vertices");
  const form = editor.querySelector("form");
  const field = form.elements.namedItem("geometry");
  const save = form.querySelector("button.save");
  const points = []; // SVG user units

  const shape = () => form.querySelector('input[name="shape"]:checked').value;
  const xy = ([lon, lat]) => [p.ox + (lon - p.minLon) * p.fx, p.oy + (p.maxLat - lat) * p.fy];
  const lonLat = ([x, y]) => [
    Math.round((p.minLon + (x - p.ox) / p.fx) * 1e7) / 1e7,
    Math.round((p.maxLat - (y - p.oy) / p.fy) * 1e7) / 1e7,
  ];

  function geometry() {
    const kind = shape();
    const coords = points.map(lonLat);
    if (kind === "Point") return points.length === 1 ? { type: "Point", coordinates: coords[0] } : null;
    if (kind === "LineString") return points.length >= 2 ? { type: "LineString", coordinates: coords } : null;
    return points.length >= 3 ? { type: "Polygon", coordinates: [[...coords, coords[0]]] } : null;
  }

  function redraw() {
    const kind = shape();
    if (kind === "Point" && points.length > 1) points.splice(0, points.length - 1);
    const d = points.map(([x, y], i) => `${i ? "L" : "M"}${x},${y}`).join(" ");
    drawn.setAttribute("d", kind === "Polygon" && points.length > 2 ? `${d} Z` : d);
    drawn.classList.toggle("area", kind === "Polygon");
    vertices.replaceChildren(
      ...points.map(([x, y]) => {
        const dot = document.createElementNS("http://www.w3.org/2000/svg", "circle");
        dot.setAttribute("cx", x);
        dot.setAttribute("cy", y);
        dot.setAttribute("r", 5);
        return dot;
      }),
    );
    const found = geometry();
    field.value = found ? JSON.stringify(found) : "";
    save.disabled = !found;
  }

  layer.addEventListener("click", (event) => {
    const at = new DOMPoint(event.clientX, event.clientY).matrixTransform(layer.getScreenCTM().inverse());
    points.push([Math.round(at.x * 10) / 10, Math.round(at.y * 10) / 10]);
    redraw();
  });
  form.querySelector("button.undo").addEventListener("click", () => {
    points.pop();
    redraw();
  });
  form.querySelector("button.clear").addEventListener("click", () => {
    points.length = 0;
    redraw();
  });
  form.querySelectorAll('input[name="shape"]').forEach((radio) => radio.addEventListener("change", redraw));

  if (editor.dataset.current) {
    const current = JSON.parse(editor.dataset.current);
    const ring = { Point: [current.coordinates], LineString: current.coordinates, Polygon: current.coordinates[0].slice(0, -1) };
    points.push(...ring[current.type].map(xy));
    form.querySelector(`input[name="shape"][value="${current.type}"]`).checked = true;
    redraw();
  }
});
