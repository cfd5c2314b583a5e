/* qa_live statistics: the dashboard's charts (Chart.js) and the report's copy and print buttons.
   Data comes from <script type="application/json" id="stats-data">; text goes in with textContent. */
(function () {
  "use strict";

  var COLORS = { held: "#8c1d18", visits: "#0b57d0", valid: "#9a6700", answered: "#1a7f37" };

  function readData() {
    var node = document.getElementById("stats-data");
    if (!node) { return null; }
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  function narrow() { return window.matchMedia("(max-width: 600px)").matches; }

  function monthChart(Chart, data) {
    var canvas = document.getElementById("chart-months");
    if (!canvas) { return; }
    var m = data.months, t = data.text;
    new Chart(canvas, {
      data: {
        labels: m.labels,
        datasets: [
          { type: "bar", label: t.valid, data: m.valid, backgroundColor: COLORS.valid, yAxisID: "y" },
          { type: "bar", label: t.answered, data: m.answered, backgroundColor: COLORS.answered, yAxisID: "y" },
          { type: "line", label: t.visits, data: m.visits, borderColor: COLORS.visits,
            backgroundColor: COLORS.visits, yAxisID: "y2", tension: 0.2 },
          { type: "line", label: t.held, data: m.held, borderColor: COLORS.held,
            backgroundColor: COLORS.held, yAxisID: "y3", hidden: narrow(), stepped: true }
        ]
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: {
          x: { ticks: { autoSkip: true, maxRotation: 60 } },
          y: { beginAtZero: true, position: "left", ticks: { precision: 0 } },
          y2: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false },
                ticks: { precision: 0 } },
          y3: { beginAtZero: true, display: false }
        }
      }
    });
  }

  function departmentChart(Chart, data) {
    var canvas = document.getElementById("chart-departments");
    if (!canvas) { return; }
    var d = data.departments, t = data.text;
    // One row per department, tall enough to read on a phone.
    canvas.parentNode.style.height = Math.max(160, 36 * d.labels.length + 70) + "px";
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: d.labels,
        datasets: [
          { label: t.valid, data: d.valid, backgroundColor: COLORS.valid },
          { label: t.answered, data: d.answered, backgroundColor: COLORS.answered }
        ]
      },
      options: {
        indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } },
                  y: { ticks: { autoSkip: false } } }
      }
    });
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "offscreen";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy failed")); }
    });
  }

  function wireCopyButtons() {
    var buttons = document.querySelectorAll("button[data-copy]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        var status = button.parentNode.querySelector(".copy-status");
        if (!source) { return; }
        copyText(source.textContent).then(function () {
          if (status) { status.textContent = status.getAttribute("data-copied"); }
        }, function () {
          if (status) { status.textContent = status.getAttribute("data-failed"); }
        });
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("button.print-button"), function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
  }

  function start() {
    wireCopyButtons();
    var data = readData();
    if (!data || typeof window.Chart === "undefined") { return; }
    window.Chart.defaults.font.family =
      'system-ui, -apple-system, "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif';
    monthChart(window.Chart, data);
    departmentChart(window.Chart, data);
    document.body.setAttribute("data-charts", "ready");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
