// The charts page: each [data-chart] figure becomes a uPlot time series from the JSON the
// server rendered into #chart-data (data, never code: the content policy runs no inline script).
"use strict";

const COLOURS = ["#cf222e", "#9a6700", "#8250df", "#0969da", "#1a7f37", "#bc4c00", "#57606a"];

function drawChart(figure, data) {
  const series = [{}].concat(data.series.map((s, i) => ({
    label: s.label,
    stroke: COLOURS[i % COLOURS.length],
    width: 2,
    points: { show: data.x.length < 60 },
  })));
  const columns = [data.x].concat(data.series.map((s) => s.values));
  const options = {
    width: figure.clientWidth || 800,
    height: 260,
    series,
    axes: [{}, { label: "flagged posts" }],
    scales: { x: { time: true } },
  };
  return new uPlot(options, columns, figure);
}

document.addEventListener("DOMContentLoaded", () => {
  const source = document.getElementById("chart-data");
  if (!source) return;
  const data = JSON.parse(source.textContent);
  for (const figure of document.querySelectorAll("[data-chart]")) {
    const chart = data[figure.dataset.chart];
    if (chart.series.length === 0) {
      figure.textContent = "No flagged posts in this period.";
      continue;
    }
    drawChart(figure, chart);
  }
});
