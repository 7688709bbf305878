// Trend and time-of-day charts, drawn from the app's JSON. Chart.js comes from Debian's
// libjs-chart.js, served by the app; no inline script: each canvas names its data URL
// and its labels in data- attributes.
(function () {
  "use strict";

  var COLOURS = ["#8a1538", "#1d4ed8", "#0f766e", "#c2410c", "#6d28d9", "#4d7c0f", "#be185d", "#334155"];

  function shortDate(iso, months) {
    var parts = iso.split("-");
    return Number(parts[2]) + " " + months[Number(parts[1]) - 1] + " " + parts[0];
  }

  function monthLabel(iso, months) {
    var parts = iso.split("-");
    return months[Number(parts[1]) - 1] + " " + parts[0];
  }

  function loaded(canvas) {
    var loading = canvas.parentNode.querySelector(".chart-loading");
    if (loading) loading.parentNode.removeChild(loading);
  }

  function fail(canvas, error) {
    loaded(canvas);
    var note = document.createElement("p");
    note.className = "chart-note";
    note.textContent = canvas.getAttribute("data-error-text") + " (" + error + ")";
    canvas.parentNode.appendChild(note);
    canvas.setAttribute("data-drawn", "error");
  }

  function fetchJson(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    });
  }

  function drawTrend(canvas) {
    var months = canvas.getAttribute("data-months").split(",");
    var currentText = canvas.getAttribute("data-current-text");
    var agoText = canvas.getAttribute("data-year-ago-text");
    fetchJson(canvas.getAttribute("data-trend")).then(function (data) {
      var first = data.series[0] ? data.series[0].points : [];
      var labels = first.map(function (p) {
        return data.period === "month" ? monthLabel(p.period_start, months) : shortDate(p.period_start, months);
      });
      var datasets = [];
      data.series.forEach(function (s, i) {
        var colour = COLOURS[i % COLOURS.length];
        var name = s.unit_name && s.unit_name !== s.unit_id ? s.unit_id + " " + s.unit_name : s.unit_id;
        var several = data.series.length > 1;
        datasets.push({
          label: several ? name + " · " + currentText : currentText,
          data: s.points.map(function (p) { return p.current; }),
          borderColor: colour, backgroundColor: colour, borderWidth: 2, pointRadius: 0,
          tension: 0.15, spanGaps: false
        });
        datasets.push({
          label: several ? name + " · " + agoText : agoText,
          data: s.points.map(function (p) { return p.year_ago; }),
          borderColor: colour + "88", backgroundColor: colour + "88", borderWidth: 1.5,
          borderDash: [5, 4], pointRadius: 0, tension: 0.15, spanGaps: false
        });
      });
      new window.Chart(canvas, {
        type: "line",
        data: { labels: labels, datasets: datasets },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false,
          interaction: { mode: "index", intersect: false },
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } },
                    x: { ticks: { maxTicksLimit: 8, autoSkip: true, autoSkipPadding: 12, maxRotation: 0 } } },
          plugins: { legend: { position: "bottom" } }
        }
      });
      loaded(canvas);
      canvas.setAttribute("data-drawn", "yes");
    }).catch(function (error) { fail(canvas, error); });
  }

  function heatColour(share) {
    // from pale (few) to dark red-orange (most)
    var start = [255, 245, 235], end = [127, 39, 4];
    var mix = start.map(function (c, i) { return Math.round(c + (end[i] - c) * share); });
    return "rgb(" + mix.join(",") + ")";
  }

  function drawHeat(canvas, data) {
    var weekdays = canvas.getAttribute("data-weekdays").split(",");
    var box = canvas.parentNode;
    var ratio = window.devicePixelRatio || 1;
    var width = box.clientWidth, height = box.clientHeight;
    canvas.width = width * ratio; canvas.height = height * ratio;
    canvas.style.width = width + "px"; canvas.style.height = height + "px";
    var ctx = canvas.getContext("2d");
    ctx.scale(ratio, ratio);
    var left = 44, top = 8, bottom = 24;
    var cellW = (width - left - 4) / 24, cellH = (height - top - bottom) / 7;
    var max = 0;
    data.counts.forEach(function (row) { row.forEach(function (n) { if (n > max) max = n; }); });
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    for (var d = 0; d < 7; d++) {
      ctx.fillStyle = "#1f2328"; ctx.textAlign = "right";
      ctx.fillText(weekdays[d], left - 6, top + (d + 0.5) * cellH);
      for (var h = 0; h < 24; h++) {
        var n = data.counts[d][h];
        var share = max ? n / max : 0;
        ctx.fillStyle = heatColour(share);
        ctx.fillRect(left + h * cellW, top + d * cellH, cellW - 1, cellH - 1);
        if (cellW >= 22 && n > 0) {
          ctx.fillStyle = share > 0.55 ? "#ffffff" : "#1f2328"; ctx.textAlign = "center";
          ctx.fillText(String(n), left + (h + 0.5) * cellW, top + (d + 0.5) * cellH);
        }
      }
    }
    ctx.fillStyle = "#59636e"; ctx.textAlign = "center";
    for (var hour = 0; hour < 24; hour += 2) {
      ctx.fillText(String(hour) + "h", left + (hour + 0.5) * cellW, height - bottom / 2);
    }
  }

  function setUpHeat(canvas) {
    fetchJson(canvas.getAttribute("data-timeofday")).then(function (data) {
      loaded(canvas);
      drawHeat(canvas, data);
      var note = document.getElementById(canvas.getAttribute("data-note"));
      if (note) {
        note.textContent = canvas.getAttribute("data-without-time-text")
          .replace("{n}", data.without_time.toLocaleString("en-US"))
          .replace("{total}", data.with_time.toLocaleString("en-US"));
      }
      canvas.setAttribute("data-drawn", "yes");
      window.addEventListener("resize", function () { drawHeat(canvas, data); });
    }).catch(function (error) { fail(canvas, error); });
  }

  // The planner's methods page: each method's PAI per test window, from the stored
  // evaluation in the canvas's data-methods (the grid baseline dashed, the default thick).
  function drawMethods(canvas) {
    var data = JSON.parse(canvas.getAttribute("data-methods"));
    var baseline = canvas.getAttribute("data-baseline"), chosen = canvas.getAttribute("data-default");
    var datasets = data.series.map(function (s, i) {
      var colour = s.method === baseline ? "#6b7280" : COLOURS[i % COLOURS.length];
      return {
        label: s.method, data: s.pai, borderColor: colour, backgroundColor: colour,
        borderWidth: s.method === chosen ? 3.5 : 1.5, borderDash: s.method === baseline ? [6, 4] : [],
        pointRadius: 2, tension: 0, spanGaps: false
      };
    });
    new window.Chart(canvas, {
      type: "line",
      data: { labels: data.windows, datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          y: { beginAtZero: true, title: { display: true, text: canvas.getAttribute("data-y-text") } },
          x: { title: { display: true, text: canvas.getAttribute("data-x-text") },
               ticks: { maxRotation: 0, autoSkip: true, autoSkipPadding: 12 } }
        },
        plugins: { legend: { position: "bottom" } }
      }
    });
    canvas.setAttribute("data-drawn", "yes");
  }

  function setUp() {
    document.querySelectorAll("canvas[data-trend]").forEach(drawTrend);
    document.querySelectorAll("canvas[data-methods]").forEach(drawMethods);
    document.querySelectorAll("canvas[data-timeofday]").forEach(setUpHeat);
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
