// Charts of the coverage matrix (exceptions by control) and of a control page (exceptions per run), drawn with
// ECharts from the JSON the page embeds with json_script (no inline scripts: CSP).
document.addEventListener("DOMContentLoaded", () => {
  if (!window.echarts) return;
  const tones = { ok: "#2e7d32", notice: "#1c7ea6", warning: "#c47f17", danger: "#b42318", none: "#9aa5b1" };
  const dataEl = document.getElementById("supervision-chart-data");
  const el = document.getElementById("chart-exceptions");
  if (dataEl && el) {
    const d = JSON.parse(dataEl.textContent);
    window.echarts.init(el).setOption({
      animation: false, grid: { left: 150, right: 30, top: 10, bottom: 20 }, tooltip: { trigger: "axis" },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: d.labels.slice().reverse(), axisLabel: { width: 140, overflow: "truncate" } },
      series: [{ type: "bar", data: d.values.map((v, i) => ({ value: v, itemStyle: { color: tones[d.tones[i]] || "#1d4e7a" } })).reverse(),
                 label: { show: true, position: "right" } }],
    });
  }
  const trendEl = document.getElementById("supervision-trend-data");
  const t = document.getElementById("chart-trend");
  if (trendEl && t) {
    const d = JSON.parse(trendEl.textContent);
    window.echarts.init(t).setOption({
      animation: false, grid: { left: 30, right: 10, top: 10, bottom: 20 }, tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: d.labels, axisLabel: { show: false } }, yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "line", data: d.values, smooth: true, areaStyle: {}, itemStyle: { color: "#1d4e7a" } }],
    });
  }
});
