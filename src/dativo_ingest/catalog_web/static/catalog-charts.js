/* dativo catalog: cost over time (Chart.js, vendored), by tenant, job or cost centre; ▲ marks the day
   of an anomalous run. */
(function () {
  "use strict";
  var canvas = document.getElementById("cost-chart");
  if (!canvas || typeof Chart === "undefined") { return; }
  var series = JSON.parse(document.getElementById("cost-data").textContent);
  var PALETTE = ["#2b59c3", "#23804f", "#c2410c", "#7c4fb8", "#b8336a", "#0e7490", "#a16207", "#5d6b88"];
  var chart = null;

  function datasets(dim) {
    var groups = series.by[dim] || {};
    var names = Object.keys(groups).sort();
    var out = names.map(function (name, i) {
      var color = PALETTE[i % PALETTE.length];
      return {
        label: name, borderColor: color, backgroundColor: color, tension: 0.2, pointRadius: 3,
        data: series.days.map(function (d) { return groups[name][d] === undefined ? 0 : groups[name][d]; })
      };
    });
    var marks = series.anomalies || [];
    if (marks.length) {
      var top = series.days.map(function (d, i) {
        return out.reduce(function (m, ds) { return Math.max(m, ds.data[i] || 0); }, 0);
      });
      out.push({
        label: "anomaly", type: "line", showLine: false, pointStyle: "triangle", pointRadius: 9,
        borderColor: "#c53b3b", backgroundColor: "#c53b3b",
        data: series.days.map(function (d, i) {
          return marks.some(function (a) { return a.day === d && (dim !== "job" || groups[a.job]); }) ? top[i] : null;
        })
      });
    }
    return out;
  }

  function draw(dim) {
    if (chart) { chart.destroy(); }
    chart = new Chart(canvas, {
      type: "line",
      data: { labels: series.days, datasets: datasets(dim) },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          y: { beginAtZero: true, title: { display: true, text: "USD" },
               ticks: { callback: function (v) { return v === 0 ? "$0" : "$" + Number(Number(v).toPrecision(2)); } } },
          x: { title: { display: true, text: "day (UTC)" } }
        },
        plugins: { legend: { position: "bottom" } }
      }
    });
    document.body.setAttribute("data-chart-ready", dim);
  }

  document.querySelectorAll(".chart-tab").forEach(function (button) {
    button.addEventListener("click", function () {
      document.querySelectorAll(".chart-tab").forEach(function (b) {
        b.classList.toggle("on", b === button);
        b.setAttribute("aria-pressed", b === button ? "true" : "false");
      });
      draw(button.getAttribute("data-dim"));
    });
  });
  draw("tenant");
})();
