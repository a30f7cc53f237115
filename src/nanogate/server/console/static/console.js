// The overview's charts: the figures of /console/stats.json drawn with uPlot.
"use strict";
(function () {
  const root = document.getElementById("charts");
  if (!root || typeof uPlot === "undefined") return;
  const palette = ["#3355cc", "#b42318", "#067647", "#b54708", "#6941c6", "#0e7090", "#c11574"];

  function compact(u, splits) {
    return splits.map(function (v) { return v == null ? "" : Number(v.toPrecision(3)).toString(); });
  }

  function draw(el, x, series, stacked) {
    const width = Math.max(320, el.clientWidth || 520);
    const opts = {
      width: width, height: 220,
      series: [{}].concat(series.map(function (s, i) {
        return { label: s.label, stroke: palette[i % palette.length], width: 1.5,
                 fill: stacked ? palette[i % palette.length] + "33" : undefined, spanGaps: true,
                 points: { show: true, size: 4 } };
      })),
      axes: [{}, { size: 90, values: compact }],
      scales: { x: { time: true } },
      legend: { show: true },
    };
    el.textContent = "";
    el.setAttribute("data-drawn", "true");
    return new uPlot(opts, [x].concat(series.map(function (s) { return s.values; })), el);
  }

  fetch("/console/stats.json?window=" + encodeURIComponent(root.dataset.window), {
    credentials: "same-origin", headers: { accept: "application/json" },
  })
    .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
    .then(function (figures) {
      const b = figures.buckets;
      const x = b.map(function (d) { return Date.parse(d.start) / 1000; });
      const codes = {};
      b.forEach(function (d) { Object.keys(d.errors).forEach(function (c) { codes[c] = true; }); });
      const errorSeries = Object.keys(codes).sort().map(function (c) {
        return { label: c, values: b.map(function (d) { return d.errors[c] || 0; }) };
      });
      if (!errorSeries.length) errorSeries.push({ label: "errors", values: b.map(function () { return 0; }) });
      const chart = function (name) { return root.querySelector('[data-chart="' + name + '"]'); };
      draw(chart("requests"), x, [{ label: "requests", values: b.map(function (d) { return d.requests; }) }], true);
      draw(chart("errors"), x, errorSeries, false);
      draw(chart("spend"), x, [{ label: "USD", values: b.map(function (d) { return Number(d.spend_usd); }) }], true);
      draw(chart("latency"), x, [
        { label: "p50", values: b.map(function (d) { return d.p50_ms; }) },
        { label: "p99", values: b.map(function (d) { return d.p99_ms; }) },
      ], false);
    })
    .catch(function (err) {
      root.insertAdjacentHTML("afterbegin", '<p class="error" role="alert"></p>');
      root.firstChild.textContent = "The figures could not be loaded: " + err.message;
    });
})();
