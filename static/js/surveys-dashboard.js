// The satisfaction analytics charts (ECharts), drawn from the JSON the page embeds with json_script.
document.addEventListener("DOMContentLoaded", () => {
  const dataEl = document.getElementById("surveys-chart-data");
  if (!dataEl || !window.echarts) return;
  const d = JSON.parse(dataEl.textContent);
  const title = (text) => ({ text, left: 0, textStyle: { fontSize: 14, fontWeight: 600 } });
  const init = (id) => { const el = document.getElementById(id); return el ? window.echarts.init(el) : null; };
  const trend = init("chart-trend");
  if (trend) {
    trend.setOption({
      animation: false, title: title(d.trend.title), tooltip: { trigger: "axis" },
      legend: { bottom: 0, data: [d.legend.csat, d.legend.nps, d.legend.answers] },
      grid: { left: 44, right: 44, top: 44, bottom: 56 },
      xAxis: { type: "category", data: d.trend.labels },
      yAxis: [{ type: "value", min: -100, max: 100 }, { type: "value", minInterval: 1, splitLine: { show: false } }],
      series: [
        { name: d.legend.answers, type: "bar", yAxisIndex: 1, data: d.trend.answers, itemStyle: { color: "#d5dde7" } },
        { name: d.legend.csat, type: "line", data: d.trend.csat, itemStyle: { color: "#2e7d32" }, label: { show: true } },
        { name: d.legend.nps, type: "line", data: d.trend.nps, itemStyle: { color: "#1d4e7a" }, label: { show: true } },
      ],
    });
  }
  const branch = init("chart-branch");
  if (branch) {
    branch.setOption({
      animation: false, title: title(d.branch.title), tooltip: { trigger: "axis" },
      legend: { bottom: 0, data: [d.legend.csat, d.legend.nps] }, grid: { left: 44, right: 10, top: 44, bottom: 64 },
      xAxis: { type: "category", data: d.branch.labels, axisLabel: { interval: 0, rotate: d.branch.labels.length > 4 ? 20 : 0 } },
      yAxis: { type: "value", min: -100, max: 100 },
      series: [
        { name: d.legend.csat, type: "bar", data: d.branch.csat, itemStyle: { color: "#2e7d32" } },
        { name: d.legend.nps, type: "bar", data: d.branch.nps, itemStyle: { color: "#1d4e7a" } },
      ],
    });
  }
  const sentiment = init("chart-sentiment");
  if (sentiment) {
    const palette = ["#2e7d32", "#9aa5b1", "#b42318"];
    sentiment.setOption({
      animation: false, title: title(d.sentiment.title), tooltip: { trigger: "item" }, legend: { bottom: 0 },
      series: [{ type: "pie", radius: ["35%", "60%"], label: { formatter: "{b}: {c}" },
                 data: d.sentiment.labels.map((l, i) => ({ name: l, value: d.sentiment.values[i], itemStyle: { color: palette[i] } })) }],
    });
  }
  const keywords = init("chart-keywords");
  if (keywords) {
    keywords.setOption({
      animation: false, title: title(d.keywords.title), tooltip: { trigger: "axis" },
      grid: { left: 70, right: 20, top: 40, bottom: 20 },
      xAxis: { type: "value", minInterval: 1 }, yAxis: { type: "category", data: d.keywords.labels.slice().reverse() },
      series: [{ type: "bar", data: d.keywords.values.slice().reverse(), itemStyle: { color: "#c47f17" }, label: { show: true, position: "right" } }],
    });
  }
});
