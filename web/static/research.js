// The researcher page's moderator map. No inline script: the units come from the JSON data
// block #research-data; no base tiles (the Content-Security-Policy admits only this host).
(function () {
  "use strict";

  var FILL = { higher: "#b91c1c", lower: "#93c5fd", outside: "#e5e7eb" };

  function style(feature) {
    var p = feature.properties;
    var uncertain = p.uncertain;
    return {
      color: uncertain ? "#111827" : "#ffffff",
      weight: uncertain ? 2.5 : 0.8,
      dashArray: uncertain ? "5 4" : null,
      fillColor: FILL[p["class"]] || FILL.outside,
      fillOpacity: uncertain ? 0.45 : 0.8
    };
  }

  function label(p) {
    var parts = [p.unit_id + (p.unit_name ? " " + p.unit_name : "")];
    if (p.moderator_value !== null) parts.push("valor " + p.moderator_value.toFixed(1));
    if (p.probability !== null) parts.push("p = " + p.probability.toFixed(2));
    return parts.join(" · ");
  }

  function draw() {
    var holder = document.getElementById("research-map");
    var data = document.getElementById("research-data");
    if (!holder || !data || typeof L === "undefined") return;
    var units = JSON.parse(data.textContent);
    var map = L.map(holder, { attributionControl: false, zoomSnap: 0.25 });
    var layer = L.geoJSON(units, {
      style: style,
      onEachFeature: function (feature, shape) {
        shape.bindTooltip(label(feature.properties), { sticky: true });
      }
    }).addTo(map);
    layer.eachLayer(function (shape) {
      if (shape.feature.properties.uncertain) shape.bringToFront();
    });
    if (units.features.length) map.fitBounds(layer.getBounds(), { padding: [8, 8] });
    else map.setView([19.4, -99.13], 10);
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
