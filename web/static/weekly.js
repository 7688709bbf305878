// The weekly table: sortable columns and the print button. No inline script: the page
// passes everything through data- attributes (data-sortable, data-col, data-sort).
(function () {
  "use strict";

  function sortValue(cell) {
    var raw = cell ? cell.getAttribute("data-sort") : "";
    if (raw === null || raw === "") return null; // n/d and "sin datos" sort last
    var number = Number(raw);
    return isNaN(number) ? raw : number;
  }

  function compare(a, b, descending) {
    if (a === null && b === null) return 0;
    if (a === null) return 1;
    if (b === null) return -1;
    var order;
    if (typeof a === "number" && typeof b === "number") order = a - b;
    else order = String(a).localeCompare(String(b), "es", { numeric: true });
    return descending ? -order : order;
  }

  function sortTable(table, column, descending) {
    Array.prototype.forEach.call(table.tBodies, function (body) {
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (x, y) {
        return compare(sortValue(x.cells[column]), sortValue(y.cells[column]), descending) ||
          compare(sortValue(x.cells[0]), sortValue(y.cells[0]), false);
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  }

  function markHeaders(tables, column, descending) {
    tables.forEach(function (table) {
      table.querySelectorAll("th[data-col]").forEach(function (th) {
        var mine = Number(th.getAttribute("data-col")) === column;
        th.setAttribute("aria-sort", mine ? (descending ? "descending" : "ascending") : "none");
      });
    });
  }

  function setUp() {
    var tables = Array.prototype.slice.call(document.querySelectorAll("table[data-sortable]"));
    var state = { column: 0, descending: false };
    tables.forEach(function (table) {
      table.querySelectorAll("th[data-col]").forEach(function (th) {
        th.tabIndex = 0;
        function activate() {
          var column = Number(th.getAttribute("data-col"));
          // Counts, changes and rates sort largest first on the first click; names A to Z,
          // ranks 1 first (data-first="asc").
          var firstDescending = column > 1 && th.getAttribute("data-first") !== "asc";
          state.descending = state.column === column ? !state.descending : firstDescending;
          state.column = column;
          tables.forEach(function (t) { sortTable(t, column, state.descending); });
          markHeaders(tables, column, state.descending);
        }
        th.addEventListener("click", activate);
        th.addEventListener("keydown", function (event) {
          if (event.key === "Enter" || event.key === " ") { event.preventDefault(); activate(); }
        });
      });
    });
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
