// The hotspot map editor on Leaflet with the Geoman drawing plugin (both vendored under vendor/):
// the map shows the other hotspots and open cases around (data-context, GeoJSON), the basemap's
// roads (data-roads) and tiles (data-tiles) when configured, else a plain light canvas, with a scale
// bar. The hotspot's own shape (data-current) is editable at once: drag a vertex, click a midpoint
// to add one, right-click one to remove it. Drawing a new point, line or polygon replaces it. The
// shape goes into the form's `geometry` field as GeoJSON ([lon, lat], polygon ring closed).
// The map element carries the map as `leafletMap`, so a browser test can turn places into pixels.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const editor = document.getElementById("editor");
  if (!editor || !window.L) return;
  const data = editor.dataset;
  const box = editor.querySelector(".editor-map");
  const form = editor.querySelector("form");
  const field = form.elements.namedItem("geometry");
  const save = form.querySelector("button.save");

  const map = L.map(box, { attributionControl: false });
  box.leafletMap = map;
  map.fitBounds(JSON.parse(data.view));
  if (data.tiles) L.tileLayer(data.tiles, { maxZoom: 19 }).addTo(map);
  const roads = JSON.parse(data.roads).map((road) => road.map(([lon, lat]) => [lat, lon]));
  if (roads.length) L.polyline(roads, { className: "road", interactive: false, pmIgnore: true }).addTo(map);
  L.geoJSON(JSON.parse(data.context), {
    style: (feature) => ({ className: feature.properties.css }),
    pointToLayer: (feature, at) =>
      L.circleMarker(at, { radius: feature.properties.r, className: feature.properties.css, pmIgnore: true }),
    onEachFeature: (feature, layer) => layer.bindTooltip(feature.properties.title),
    pmIgnore: true,
  }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);

  map.pm.setLang("page", { buttonTitles: JSON.parse(data.titles) }, data.lang === "zh" ? "zh" : "en");
  const shapeStyle = { color: "#b42318", fillColor: "#b42318", fillOpacity: 0.15, weight: 3 };
  map.pm.setPathOptions(shapeStyle);
  map.pm.addControls({
    position: "topleft",
    drawMarker: true,
    drawPolyline: true,
    drawPolygon: true,
    drawCircleMarker: false,
    drawRectangle: false,
    drawCircle: false,
    drawText: false,
    editMode: true,
    dragMode: false,
    cutPolygon: false,
    rotateMode: false,
    removalMode: true,
  });

  let drawn = null; // the one shape being drawn or edited
  function sync() {
    const found = drawn ? drawn.toGeoJSON(7).geometry : null;
    field.value = found ? JSON.stringify(found) : "";
    save.disabled = !found;
  }
  function adopt(layer) {
    if (drawn && drawn !== layer) drawn.remove();
    drawn = layer;
    layer.on("pm:edit", sync);
    layer.pm.enable();
    sync();
  }
  map.on("pm:create", ({ layer }) => adopt(layer));
  map.on("pm:remove", ({ layer }) => {
    if (layer !== drawn) return;
    drawn = null;
    sync();
  });
  if (data.current) adopt(L.geoJSON(JSON.parse(data.current), { style: shapeStyle }).getLayers()[0].addTo(map));
});
