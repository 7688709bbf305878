// The hotspot map (/mapa). Leaflet comes from Debian's libjs-leaflet, served by the app; no
// base tiles (nothing leaves the app's host) and no inline script: the page passes its URLs
// and messages in data- attributes of #map. The shapes load once per vintage and level
// (/mapa/formas.json, a TopoJSON topology: shared borders once, quantised); a window,
// group or basis switch fetches only the numbers (/mapa.json); measure and layer switches
// redraw what is already here; what only a pop-up shows (commanders, population, area)
// loads when a pop-up first needs it (/mapa/unidades.json). The whole view state
// lives in the URL (history.replaceState), so a map can be shared.
(function () {
  "use strict";

  // Classes: quintiles of the units with incidents (zero apart), ColorBrewer YlOrRd; change
  // in percent on fixed breaks, ColorBrewer RdBu (increase red). Gi* spots are outlines over
  // the shading: hot in purple (it stands out on YlOrRd), cold in blue, thicker when surer.
  var SEQUENTIAL = ["#ffe68a", "#fdb84f", "#f98a3c", "#e3442a", "#a50f26"];
  var ZERO = "#ffffff";
  var NO_DATA = "#c9ccd1";
  var CHANGE_BREAKS = [-50, -20, -5, 5, 20, 50];
  var DIVERGING = ["#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b"];
  var GI = {
    3: { color: "#49006a", weight: 4.5 }, 2: { color: "#ae017e", weight: 3.5 }, 1: { color: "#f768a1", weight: 2.5 },
    "-1": { color: "#6baed6", weight: 2.5 }, "-2": { color: "#2171b5", weight: 3.5 }, "-3": { color: "#08306b", weight: 4.5 }
  };
  var KDE = ["#efedf5", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"];
  var KDE_SHARES = [0.03, 0.1, 0.25, 0.5];
  // Reporting places: teal discs with a dark ring (apart from YlOrRd, Gi* and the density).
  var PLACE = { color: "#111827", fillColor: "#0f9488", weight: 2, fillOpacity: 0.9 };
  var COLUMN = {
    count: "count", rate: "rate_per_100k", density: "density_km2",
    change_previous: "previous_pct_change", change_year_ago: "year_ago_pct_change", emerging: "emerging"
  };
  // Emerging hot and cold spots (Esri's categories): reds for hot, blues for cold, darker
  // where the trend is stronger or longer; no pattern white.
  var EMERGING = {
    persistent_hot_spot: "#67000d", intensifying_hot_spot: "#a50f15", consecutive_hot_spot: "#d7301f",
    new_hot_spot: "#ef6548", sporadic_hot_spot: "#fc8d59", oscillating_hot_spot: "#fdbb84",
    diminishing_hot_spot: "#fdd49e", historical_hot_spot: "#fee8c8",
    persistent_cold_spot: "#08306b", intensifying_cold_spot: "#08519c", consecutive_cold_spot: "#2171b5",
    new_cold_spot: "#4292c6", sporadic_cold_spot: "#6baed6", oscillating_cold_spot: "#9ecae1",
    diminishing_cold_spot: "#c6dbef", historical_cold_spot: "#deebf7", no_pattern: "#ffffff"
  };
  var DECIMALS = { count: 0, rate: 1, density: 1 };
  var STATE_FIELDS = ["vintage", "level", "window", "as_of", "from", "to", "group", "basis", "measure"];

  var el, form, labels, lang, map, units, outlines, giLayer, kdeLayer, pointsLayer, placesLayer, legend;
  var shapes = null, values = null, kde = null, points = null, places = null, index = {}, shapesKey = null;
  var requests = 0, details = {};

  function label(key, fill) {
    var text = labels[key] || key;
    Object.keys(fill || {}).forEach(function (name) { text = text.split("{" + name + "}").join(fill[name]); });
    return text;
  }

  function escape(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function number(value, decimals) {
    if (value === null || value === undefined || isNaN(value)) return label("no_data");
    return Number(value).toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  }

  function percent(value) {
    if (value === null || value === undefined) return "n/d";
    var rounded = Math.round(value);
    return (rounded > 0 ? "+" : rounded < 0 ? "\u2212" : "") + Math.abs(rounded).toLocaleString("en-US") + " %";
  }

  function shortDate(iso) {
    var parts = iso.split("-"), months = label("months_short").split(",");
    return Number(parts[2]) + " " + months[Number(parts[1]) - 1] + " " + parts[0];
  }

  function span(period) {
    return period ? shortDate(period.start) + " – " + shortDate(period.end) : label("no_data");
  }

  // -- the view state and the URL -----------------------------------------------------------

  function state() {
    var s = {};
    STATE_FIELDS.forEach(function (name) { s[name] = form.elements[name] ? form.elements[name].value : ""; });
    s.layers = Array.prototype.filter.call(form.querySelectorAll('input[name="layers"][type="checkbox"]'),
      function (box) { return box.checked; }).map(function (box) { return box.value; });
    return s;
  }

  function dataQuery(s) {
    var q = new URLSearchParams();
    ["vintage", "level", "window"].forEach(function (k) { if (s[k]) q.set(k, s[k]); });
    if (s.window === "custom") { q.set("from", s.from); q.set("to", s.to); }
    else if (s.as_of) q.set("as_of", s.as_of);
    ["group", "basis"].forEach(function (k) { if (s[k]) q.set(k, s[k]); });
    return q;
  }

  function pageQuery(s) {
    var q = dataQuery(s);
    q.set("measure", s.measure);
    q.set("layers", s.layers.join(","));
    if (map && shapes) {
      var c = map.getCenter();
      q.set("vista", [c.lat.toFixed(4), c.lng.toFixed(4), map.getZoom()].join(","));
    }
    if (lang !== "es") q.set("lang", lang);
    return q;
  }

  function writeUrl() {
    var s = state(), q = pageQuery(s), data = dataQuery(s);
    data.set("measure", s.measure);
    window.history.replaceState(null, "", el.getAttribute("data-page") + "?" + q.toString());
    document.getElementById("download-geojson").href = el.getAttribute("data-geojson") + "?" + data.toString();
    document.getElementById("download-csv").href = el.getAttribute("data-csv") + "?" + data.toString();
  }

  function showCustom() {
    var custom = form.elements.window.value === "custom";
    form.querySelectorAll(".when-custom").forEach(function (n) { n.hidden = !custom; });
    form.querySelectorAll(".when-fixed").forEach(function (n) { n.hidden = custom; });
  }

  // -- fetching -----------------------------------------------------------------------------

  function status(text, failed) {
    var node = document.getElementById("map-status");
    node.textContent = text || "";
    node.className = "map-status" + (failed ? " failed" : "");
  }

  function fetchJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) throw new Error((body.error && body.error.message) || "HTTP " + response.status);
        return body;
      });
    });
  }

  function load() {
    var s = state(), key = s.vintage + "|" + s.level, withShapes = key !== shapesKey;
    var mine = ++requests;
    el.setAttribute("data-state", "loading");
    status(label("map_loading"));
    var topology = withShapes ? fetchJson(el.getAttribute("data-shapes") + "?" + shapesQuery(s)) : null;
    var numbers = fetchJson(el.getAttribute("data-values") + "?" + dataQuery(s).toString());
    return Promise.all([topology, numbers]).then(function (loaded) {
      if (mine !== requests) return;
      if (withShapes) setShapes(loaded[0], key);
      setValues(loaded[1]);
      status("");
      el.setAttribute("data-state", "ready");
      return loadOverlays();
    }).catch(function (error) {
      if (mine !== requests) return;
      status(label("map_error") + " (" + error.message + ")", true);
      el.setAttribute("data-state", "error");
    });
  }

  function shapesQuery(s) {
    return new URLSearchParams({ vintage: s.vintage, level: s.level }).toString();
  }

  // Overlays fetched for the current view when switched on: the density surface, the
  // incident points (clustered) and the reporting places (commanders, planners, admins).
  var OVERLAYS = {
    kde: { url: "data-density", get: function () { return kde; }, set: function (d) { kde = d; drawDensity(); } },
    points: { url: "data-points", get: function () { return points; }, set: function (d) { points = d; drawPoints(); } },
    places: { url: "data-places", get: function () { return places; }, set: function (d) { places = d; drawPlaces(); } }
  };

  function loadOverlay(name) {
    var overlay = OVERLAYS[name], url = el.getAttribute(overlay.url);
    if (!url || state().layers.indexOf(name) < 0) { overlay.set(null); return null; }
    var mine = requests;
    return fetchJson(url + "?" + dataQuery(state()).toString()).then(function (data) {
      if (mine === requests) overlay.set(data);
    }).catch(function (error) { status(label("map_error") + " (" + error.message + ")", true); });
  }

  function loadOverlays() {
    return Promise.all(Object.keys(OVERLAYS).map(loadOverlay));
  }

  function toggleLayers() {
    var on = state().layers;
    redraw();
    Object.keys(OVERLAYS).forEach(function (name) {
      if (on.indexOf(name) < 0) OVERLAYS[name].set(null);
      else if (!OVERLAYS[name].get()) loadOverlay(name);
    });
  }

  // -- shapes: TopoJSON to GeoJSON ------------------------------------------------------------

  // Each arc's points: quantised deltas summed, then scaled and translated to lon/lat.
  function decodeArcs(topo) {
    var scale = topo.transform.scale, shift = topo.transform.translate;
    return topo.arcs.map(function (arc) {
      var x = 0, y = 0;
      return arc.map(function (d) {
        x += d[0]; y += d[1];
        return [x * scale[0] + shift[0], y * scale[1] + shift[1]];
      });
    });
  }

  // A ring from its arcs (~i: arc i walked backwards), each arc's first point shared.
  function ring(arcs, refs) {
    var points = [];
    refs.forEach(function (r, k) {
      var arc = r >= 0 ? arcs[r] : arcs[~r].slice().reverse();
      points = points.concat(k ? arc.slice(1) : arc);
    });
    return points;
  }

  function topoFeatures(topo, name) {
    var arcs = decodeArcs(topo), object = topo.objects[name];
    if (!object) return null;
    var features = object.geometries.map(function (g) {
      var polygon = function (rings) { return rings.map(function (refs) { return ring(arcs, refs); }); };
      var geometry = g.type === "Polygon" ? { type: "Polygon", coordinates: polygon(g.arcs) }
        : g.type === "MultiPolygon" ? { type: "MultiPolygon", coordinates: g.arcs.map(polygon) } : null;
      var name = g.properties && g.properties.name ? g.properties.name : g.id;
      return { type: "Feature", geometry: geometry, properties: { unit_id: g.id, unit_name: name } };
    });
    return { type: "FeatureCollection", features: features };
  }

  // -- drawing ------------------------------------------------------------------------------

  function setShapes(topology, key) {
    shapes = topoFeatures(topology, "units");
    var zones = topoFeatures(topology, "outlines");
    shapesKey = key;
    index = {};
    shapes.features.forEach(function (f, i) { index[f.properties.unit_id] = i; });
    if (units) map.removeLayer(units);
    if (outlines) map.removeLayer(outlines);
    outlines = zones ? L.geoJSON(zones, {
      pane: "outlines", interactive: false,
      style: function () { return { color: "#4b5563", weight: 2.2, opacity: 0.9, fill: false }; }
    }).addTo(map) : null;
    units = L.geoJSON(shapes, {
      style: function () { return { color: "#6b7280", weight: 0.5, fillOpacity: 0.88 }; },
      onEachFeature: function (feature, layer) {
        layer.on("click", function (event) { openPopup(feature.properties.unit_id, event.latlng); });
        layer.bindTooltip(function () { return tooltip(feature.properties.unit_id); }, { sticky: true, direction: "top" });
      }
    }).addTo(map);
    units.eachLayer(function (layer) { layer.getElement().setAttribute("data-unit", layer.feature.properties.unit_id); });
    if (firstView && !restoreView()) map.fitBounds(units.getBounds(), { padding: [8, 8] });
    firstView = false;
  }

  var firstView = true;

  function restoreView() {
    // The first map takes the URL's view (vista=lat,lng,zoom); later shapes keep the view.
    var raw = new URLSearchParams(window.location.search).get("vista");
    var parts = raw ? raw.split(",").map(Number) : [];
    if (parts.length !== 3 || parts.some(isNaN)) return false;
    map.setView([parts[0], parts[1]], parts[2]);
    return true;
  }

  // Columns of words come as codes into their list of words ({levels, codes}).
  function decodeColumns(columns) {
    Object.keys(columns).forEach(function (name) {
      var c = columns[name];
      if (c && c.levels) columns[name] = c.codes.map(function (k) { return k === null ? null : c.levels[k]; });
    });
  }

  function setValues(payload) {
    decodeColumns(payload.columns);
    values = payload;
    if (form.elements.window.value !== "custom") form.elements.as_of.value = payload.window.end;
    else { form.elements.from.value = payload.window.start; form.elements.to.value = payload.window.end; }
    el.setAttribute("data-window-start", payload.window.start);
    el.setAttribute("data-window-end", payload.window.end);
    document.getElementById("map-group").textContent = lang === "en" ? payload.group.name_en : payload.group.name_es;
    describePeriod();
    redraw();
  }

  function column(name) { return values.columns[name]; }

  var valueRows = {};
  function valueIndex(unit) {
    if (valueRows.ids !== values.unit_ids) {
      valueRows = { ids: values.unit_ids, at: {} };
      values.unit_ids.forEach(function (u, i) { valueRows.at[u] = i; });
    }
    return valueRows.at[unit] === undefined ? -1 : valueRows.at[unit];
  }

  function quintiles(list) {
    var positive = list.filter(function (v) { return v !== null && v > 0; }).sort(function (a, b) { return a - b; });
    if (!positive.length) return [];
    var breaks = [];
    for (var k = 1; k <= 5; k++) {
      var at = Math.min(positive.length - 1, Math.ceil(k * positive.length / 5) - 1);
      if (!breaks.length || positive[at] > breaks[breaks.length - 1]) breaks.push(positive[at]);
    }
    return breaks;
  }

  function classify(measure) {
    var list = column(COLUMN[measure]);
    if (measure === "emerging") {
      return { kind: "category", colour: function (v) { return v === null ? NO_DATA : EMERGING[v] || NO_DATA; } };
    }
    if (measure.indexOf("change_") === 0) {
      return {
        kind: "change",
        colour: function (v) {
          if (v === null) return NO_DATA;
          var k = 0;
          while (k < CHANGE_BREAKS.length && v >= CHANGE_BREAKS[k]) k++;
          return DIVERGING[k];
        }
      };
    }
    var breaks = quintiles(list), offset = SEQUENTIAL.length - breaks.length;
    return {
      kind: "sequential", breaks: breaks, minimum: Math.min.apply(null, list.filter(function (v) { return v !== null && v > 0; }).concat([Infinity])),
      colour: function (v) {
        if (v === null) return NO_DATA;
        if (v <= 0) return ZERO;
        var k = 0;
        while (k < breaks.length - 1 && v > breaks[k]) k++;
        return SEQUENTIAL[k + offset];
      }
    };
  }

  function redraw() {
    if (!units || !values) return;
    var s = state(), scheme = classify(s.measure), list = column(COLUMN[s.measure]);
    var flags = s.measure === "change_previous" ? column("previous_flag") : s.measure === "change_year_ago" ? column("year_ago_flag") : null;
    var thin = s.level === "quadrant" ? 0.4 : 0.9;
    // Under the density surface the shading fades, so the surface reads.
    var opacity = kde && s.layers.indexOf("kde") >= 0 ? 0.4 : 0.88;
    units.eachLayer(function (layer) {
      var i = valueIndex(layer.feature.properties.unit_id);
      var v = i < 0 ? null : list[i], flagged = flags && i >= 0 && flags[i];
      layer.setStyle({
        fillColor: scheme.colour(v), fillOpacity: opacity,
        color: flagged ? "#111827" : "#6b7280", weight: flagged ? 2.5 : thin
      });
      if (flagged) layer.bringToFront();
    });
    drawGi(s);
    drawLegend(s, scheme);
    writeUrl();
    el.setAttribute("data-measure", s.measure);
  }

  function drawGi(s) {
    if (giLayer) { map.removeLayer(giLayer); giLayer = null; }
    if (s.layers.indexOf("gi") < 0 || !values) { el.setAttribute("data-gi", "off"); return; }
    var bins = column("gi_bin");
    var marked = shapes.features.filter(function (f) {
      var i = valueIndex(f.properties.unit_id);
      return i >= 0 && bins[i];
    });
    giLayer = L.geoJSON({ type: "FeatureCollection", features: marked }, {
      pane: "gi", interactive: false,
      style: function (f) {
        var look = GI[bins[valueIndex(f.properties.unit_id)]];
        return { color: look.color, weight: look.weight, opacity: 1, fill: false, className: "gi-spot" };
      }
    }).addTo(map);
    el.setAttribute("data-gi", String(marked.length));
  }

  function drawDensity() {
    if (kdeLayer) { map.removeLayer(kdeLayer); kdeLayer = null; }
    if (!kde || state().layers.indexOf("kde") < 0) { redrawLegendOnly(); return; }
    var peak = kde.properties.peak_km2 || 1;
    kdeLayer = L.geoJSON(kde, {
      pane: "kde", interactive: false, renderer: L.canvas({ pane: "kde" }),
      style: function (f) {
        var share = f.properties.density_km2 / peak, k = 0;
        while (k < KDE_SHARES.length && share >= KDE_SHARES[k]) k++;
        return { stroke: false, fillColor: KDE[k], fillOpacity: 0.3 + 0.15 * k };
      }
    }).addTo(map);
    redrawLegendOnly();
  }

  function pointPopup(i) {
    var c = points.categories[points.category[i]];
    var start = new Date(points.window.start + "T00:00:00Z");
    var day = new Date(start.getTime() + points.day[i] * 86400000).toISOString().slice(0, 10);
    return "<strong>" + escape(lang === "en" ? c.name_en : c.name_es) + "</strong><br>" + escape(shortDate(day));
  }

  function drawPoints() {
    if (pointsLayer) { map.removeLayer(pointsLayer); pointsLayer = null; }
    el.setAttribute("data-points-drawn", points ? String(points.drawn) : "off");
    if (!points || state().layers.indexOf("points") < 0 || !window.L.markerClusterGroup) { redrawLegendOnly(); return; }
    pointsLayer = L.markerClusterGroup({ chunkedLoading: true, showCoverageOnHover: false, maxClusterRadius: 50 });
    var markers = points.lon.map(function (lon, i) {
      return L.circleMarker([points.lat[i], lon], { radius: 5, color: "#1f2937", weight: 1, fillColor: "#f59e0b", fillOpacity: 0.9 })
        .bindPopup(function () { return pointPopup(i); });
    });
    pointsLayer.addLayers(markers);
    pointsLayer.addTo(map);
    redrawLegendOnly();
  }

  function drawPlaces() {
    if (placesLayer) { map.removeLayer(placesLayer); placesLayer = null; }
    if (!places || state().layers.indexOf("places") < 0) {
      el.setAttribute("data-places-shown", "off");
      redrawLegendOnly();
      return;
    }
    placesLayer = L.geoJSON(places, {
      pointToLayer: function (f, latlng) {
        var radius = 5 + Math.min(9, Math.sqrt(f.properties.count) / 3);
        return L.circleMarker(latlng, Object.assign({ pane: "places", radius: radius, className: "reporting-place" }, PLACE));
      },
      onEachFeature: function (f, layer) {
        layer.bindPopup(function () { return placePopup(f.properties); }, { maxWidth: 380, minWidth: 280 });
        layer.bindTooltip(function () { return escape(placeLabel(f.properties)); }, { direction: "top" });
        layer.on("popupopen", function () { layer.closeTooltip(); });
      }
    }).addTo(map);
    el.setAttribute("data-places-shown", String(places.features.length));
    redrawLegendOnly();
  }

  function placeLabel(p) { return lang === "en" ? p.label_en : p.label_es; }

  function placePopup(p) {
    var period = { start: places.properties.from, end: places.properties.to };
    var top = p.top_offences.map(function (o) {
      return "<li>" + escape(o.offence) + " (" + number(o.count, 0) + ")</li>";
    }).join("");
    return '<div class="place-popup" data-rank="' + escape(p.rank) + '"><h3>' + escape(placeLabel(p)) + "</h3>" +
      '<p class="place-warning"><strong>' + escape(label("map_places_title")) + "</strong><br>" + escape(label("map_places_what")) + "</p>" +
      '<table class="popup-numbers">' +
      row(label("map_places_count") + " (" + span(period) + ")", number(p.count, 0), "current") +
      row(label("map_places_types"), number(p.offences, 0)) +
      row(label("map_places_desk"), Math.round(100 * p.desk_share) + " %") +
      row(label("map_places_quadrant"), p.quadrant + (p.sector_name ? " · " + p.sector_name : "")) +
      "</table><p>" + escape(label("map_places_top")) + ":</p><ul>" + top + "</ul></div>";
  }

  function redrawLegendOnly() {
    if (values && units) redraw();
  }

  function swatch(colour, outline, weight) {
    var box = document.createElement("span");
    box.className = "swatch";
    box.style.background = colour || "transparent";
    if (outline) { box.style.borderColor = outline; box.style.borderWidth = (weight || 1) + "px"; }
    return box;
  }

  function legendRow(node, box, text) {
    var row = document.createElement("div");
    row.className = "legend-row";
    row.appendChild(box);
    row.appendChild(document.createTextNode(" " + text));
    node.appendChild(row);
  }

  function legendTitle(node, text) {
    var title = document.createElement("div");
    title.className = "legend-title";
    title.textContent = text;
    node.appendChild(title);
  }

  function classRange(first, low, high, d) {
    if (d === 0) {  // counts: whole numbers, "4–5" or "3"
      var from = first ? low : low + 1;
      return from >= high ? number(high, 0) : number(from, 0) + "–" + number(high, 0);
    }
    return (first ? number(low, d) : "> " + number(low, d)) + " – " + number(high, d);
  }

  // The categories the window's units fall in, most common first, with how many units.
  function emergingLegend(node) {
    var counts = {};
    column("emerging").forEach(function (v) { if (v !== null) counts[v] = (counts[v] || 0) + 1; });
    Object.keys(EMERGING).filter(function (c) { return counts[c]; }).sort(function (a, b) { return counts[b] - counts[a]; })
      .forEach(function (c) {
        legendRow(node, swatch(EMERGING[c], c === "no_pattern" ? "#6b7280" : null), label("emerging_" + c) + " (" + number(counts[c], 0) + ")");
      });
    var note = document.createElement("div");
    note.className = "legend-note";
    note.textContent = label("map_legend_emerging", { dates: span(values.emerging_span) });
    node.appendChild(note);
  }

  function drawLegend(s, scheme) {
    var node = legend.getContainer();
    node.textContent = "";
    legendTitle(node, label("measure_" + s.measure));
    if (scheme.kind === "category") {
      emergingLegend(node);
    } else if (scheme.kind === "change") {
      var bounds = [null].concat(CHANGE_BREAKS).concat([null]);
      for (var k = DIVERGING.length - 1; k >= 0; k--) {
        var lo = bounds[k], hi = bounds[k + 1];
        var text = lo === null ? "< " + percent(hi) : hi === null ? "≥ " + percent(lo) : percent(lo) + " … " + percent(hi);
        legendRow(node, swatch(DIVERGING[k]), text);
      }
      legendRow(node, swatch(NO_DATA), label("map_legend_nodata"));
      legendRow(node, swatch("#ffffff", "#111827", 2.5), label("map_legend_change"));
    } else {
      var d = DECIMALS[s.measure], offset = SEQUENTIAL.length - scheme.breaks.length;
      for (var j = scheme.breaks.length - 1; j >= 0; j--) {
        var low = j === 0 ? scheme.minimum : scheme.breaks[j - 1], high = scheme.breaks[j];
        legendRow(node, swatch(SEQUENTIAL[j + offset]), classRange(j === 0, low, high, d));
      }
      legendRow(node, swatch(ZERO, "#6b7280"), label("map_legend_zero"));
      legendRow(node, swatch(NO_DATA), label("map_legend_nodata"));
      var note = document.createElement("div");
      note.className = "legend-note";
      note.textContent = label("map_legend_quantiles");
      node.appendChild(note);
    }
    if (s.layers.indexOf("gi") >= 0) {
      legendTitle(node, label("gi_legend"));
      [3, 2, 1, -1, -2, -3].forEach(function (bin) {
        var side = bin > 0 ? "hot" : "cold", level = { 3: 99, 2: 95, 1: 90 }[Math.abs(bin)];
        legendRow(node, swatch("transparent", GI[bin].color, GI[bin].weight), label("gi_" + side + "_" + level));
      });
    }
    if (points && s.layers.indexOf("points") >= 0) {
      var drawn = document.createElement("div");
      drawn.className = "legend-note";
      drawn.textContent = points.drawn || !points.total ? label("map_points_legend", { n: number(points.drawn, 0) })
        : label("map_points_too_many", { n: number(points.total, 0) });
      node.appendChild(drawn);
    }
    if (kde && s.layers.indexOf("kde") >= 0) {
      legendTitle(node, label("map_kde_legend"));
      var peak = kde.properties.peak_km2;
      for (var m = KDE.length - 1; m >= 1; m--) {
        legendRow(node, swatch(KDE[m]), "≥ " + number(peak * KDE_SHARES[m - 1], 1));
      }
      var located = document.createElement("div");
      located.className = "legend-note";
      located.textContent = label("map_kde_points", { n: number(kde.properties.points, 0) });
      node.appendChild(located);
    }
    if (places && s.layers.indexOf("places") >= 0) {
      var spanText = span({ start: places.properties.from, end: places.properties.to });
      legendTitle(node, label("map_places_legend", { dates: spanText }));
      var disc = swatch(PLACE.fillColor, PLACE.color, PLACE.weight);
      disc.style.borderRadius = "50%";
      legendRow(node, disc, label("layer_places") + ": " + number(places.features.length, 0));
      var placeNote = document.createElement("div");
      placeNote.className = "legend-note";
      placeNote.textContent = label("map_places_note");
      node.appendChild(placeNote);
    }
  }

  function describePeriod() {
    var kind = values && form.elements.window.value;
    var name = kind === "custom" ? label("window_custom") : label("window_" + kind + "_short");
    document.getElementById("map-period").textContent = label("map_period", { window: name, dates: span(values.window) });
    var total = column("count").reduce(function (sum, v) { return v === null ? sum : sum + v; }, 0);
    document.getElementById("map-total").textContent = " · " + label("map_total", { n: number(total, 0) });
    document.getElementById("map-compared").textContent = label("map_compared", { previous: span(values.previous), year_ago: span(values.year_ago) });
    var notes = document.getElementById("map-notes");
    notes.textContent = "";
    values.notes.forEach(function (n) {
      var item = document.createElement("li");
      var period = { current: label("period_current"), previous: label("map_previous"), year_ago: label("period_year_ago") }[n.period] || n.period;
      item.textContent = label("map_note_" + n.code, { period: period, dates: span(n) });
      notes.appendChild(item);
    });
  }

  // -- a unit's numbers -----------------------------------------------------------------------

  function unitName(unit) {
    // "Cuadrante C-1.1.3", "Sector O-1.3 · CHURUBUSCO", "Región P-1" (a name holding its code)
    var f = shapes.features[index[unit]], name = f ? f.properties.unit_name : "";
    var level = label("level_" + state().level);
    if (!name || name === unit) return level + " " + unit;
    if (name.split(" ").pop() === unit) return name;
    return level + " " + unit + " · " + name;
  }

  function tooltip(unit) {
    if (!values) return escape(unitName(unit));
    var s = state(), i = valueIndex(unit), v = i < 0 ? null : column(COLUMN[s.measure])[i];
    var shown = s.measure === "emerging" ? (v === null ? label("no_data") : label("emerging_" + v))
      : s.measure.indexOf("change_") === 0 ? percent(v) : number(v, DECIMALS[s.measure]);
    return "<strong>" + escape(unitName(unit)) + "</strong><br>" + escape(label("measure_" + s.measure)) + ": " + escape(shown);
  }

  function changeText(i, period) {
    var base = column(period)[i], pct = column(period + "_pct_change")[i], flag = column(period + "_flag")[i];
    if (base === null || column("count")[i] === null) return label("no_data");
    var text = number(base, 0) + " · " + percent(pct);
    if (flag) text += " " + (flag.indexOf("increase") >= 0 ? "▲" : "▼") + " " + label("flag_" + flag);
    return text;
  }

  function row(name, value, cls) {
    return "<tr" + (cls ? ' class="' + cls + '"' : "") + "><th>" + escape(name) + "</th><td>" + escape(value) + "</td></tr>";
  }

  function popupHtml(unit, about) {
    var i = valueIndex(unit), s = state(), facts = about ? about.facts : null;
    var f = facts ? facts.unit_ids.indexOf(unit) : -1;
    var commander = about ? about.commanders[unit] : null;
    var who = !about ? label("no_data") : commander ? commander + (about.roster_fictitious && commander.indexOf("ficti") < 0 ? " " + label("fictitious") : "") : label("no_commander");
    var bin = column("gi_bin")[i], z = column("gi_z")[i];
    var gi = bin ? label("gi_" + (bin > 0 ? "hot" : "cold") + "_" + { 3: 99, 2: 95, 1: 90 }[Math.abs(bin)]) : label("gi_none");
    var emerging = column("emerging")[i];
    var trend = new URLSearchParams({ vintage: s.vintage, level: s.level, unit: unit, group: s.group, basis: s.basis, as_of: values.window.end });
    if (lang !== "es") trend.set("lang", lang);
    var flagClass = function (period) {
      var flag = column(period + "_flag")[i];
      return flag ? (flag.indexOf("increase") >= 0 ? "up" : "down") : "";
    };
    return '<div class="unit-popup" data-unit="' + escape(unit) + '"><h3>' + escape(unitName(unit)) + "</h3>" +
      '<table class="popup-numbers">' +
      row(label("commander"), who) +
      row(label("count") + " (" + span(values.window) + ")", number(column("count")[i], 0), "current") +
      row(label("map_previous") + " (" + span(values.previous) + ")", changeText(i, "previous"), flagClass("previous")) +
      row(label("map_year_ago") + " (" + span(values.year_ago) + ")", changeText(i, "year_ago"), flagClass("year_ago")) +
      row(label("rate"), number(column("rate_per_100k")[i], 1)) +
      row(label("map_density"), number(column("density_km2")[i], 1)) +
      row(label("map_gi"), (z === null ? label("no_data") : number(z, 2)) + " · " + gi) +
      row(label("map_emerging"), emerging ? label("emerging_" + emerging) : label("no_data")) +
      row(label("map_population"), number(f < 0 ? null : facts.population[f], 0)) +
      row(label("area_km2"), number(f < 0 ? null : facts.area_km2[f], 2)) +
      "</table>" +
      '<p><a class="trend-link" href="' + escape(el.getAttribute("data-trend") + "?" + trend.toString()) + '">' + escape(label("map_trend_link")) + " →</a></p></div>";
  }

  // What pop-ups tell besides the numbers (the commanders of the window's last day, the
  // units' population and area), fetched once per vintage, level and day.
  function unitDetails() {
    var s = state(), q = new URLSearchParams({ vintage: s.vintage, level: s.level, day: values.window.end });
    var key = q.toString();
    if (!details[key]) {
      details[key] = fetchJson(el.getAttribute("data-units") + "?" + key)
        .catch(function () { delete details[key]; return null; });
    }
    return details[key];
  }

  function openPopup(unit, latlng) {
    if (!values || valueIndex(unit) < 0) return;
    var shown = values;
    unitDetails().then(function (about) {
      if (values !== shown) return;
      L.popup({ maxWidth: 380, minWidth: 300 }).setLatLng(latlng).setContent(popupHtml(unit, about)).openOn(map);
    });
  }

  // -- set-up -------------------------------------------------------------------------------

  function onChange(event) {
    var name = event.target.name;
    if (name === "window") { showCustom(); fillCustom(); }
    // another vintage has other data: its own last loaded Sunday, unless a range is chosen
    if (name === "vintage" && form.elements.window.value !== "custom") form.elements.as_of.value = "";
    if (name === "measure") { redraw(); return; }
    if (name === "layers") { toggleLayers(); return; }
    if (form.elements.window.value === "custom" && (!form.elements.from.value || !form.elements.to.value)) return;
    load();
  }

  function fillCustom() {
    if (form.elements.window.value !== "custom" || !values) return;
    if (!form.elements.from.value) form.elements.from.value = values.window.start;
    if (!form.elements.to.value) form.elements.to.value = values.window.end;
  }

  function setUp() {
    el = document.getElementById("map");
    if (!el || !window.L) return;
    form = document.getElementById("map-form");
    labels = JSON.parse(el.getAttribute("data-labels"));
    lang = el.getAttribute("data-lang") || "es";
    map = L.map(el, { zoomSnap: 0.25, attributionControl: false, preferCanvas: false, minZoom: 8, maxZoom: 17 });
    map.setView([19.39, -99.14], 10);
    [["kde", 410], ["outlines", 430], ["gi", 440]].forEach(function (p) {
      var pane = map.createPane(p[0]);
      pane.style.zIndex = p[1];
      pane.style.pointerEvents = "none";
    });
    map.createPane("places").style.zIndex = 450;  // clickable: each place has a pop-up
    legend = L.control({ position: "bottomright" });
    legend.onAdd = function () {
      var node = L.DomUtil.create("div", "map-legend");
      L.DomEvent.disableClickPropagation(node);
      L.DomEvent.disableScrollPropagation(node);
      return node;
    };
    legend.addTo(map);
    map.on("moveend", function () { if (shapes) writeUrl(); });
    showCustom();
    form.addEventListener("change", onChange);
    form.addEventListener("submit", function (event) { event.preventDefault(); shapesKey = null; load(); });
    load();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
