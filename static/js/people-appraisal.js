// Appraisal charts (ECharts) from the JSON the pages embed with json_script (no inline scripts: CSP):
// - the scorecard (#people-appraisal-data): a radar of every metric's 0–100 score (metrics not measured shown at 0
//   and named in the tooltip);
// - the team page (#people-distribution-data): each branch's count of cards per score band, for calibration.
document.addEventListener("DOMContentLoaded", () => {
  if (!window.echarts) return;
  const read = (id) => {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  };
  const charts = [];
  const draw = (id, option) => {
    const el = document.getElementById(id);
    if (!el) return;
    const chart = window.echarts.init(el);
    chart.setOption(option);
    charts.push(chart);
  };
  const title = (text) => ({ text, left: 0, textStyle: { fontSize: 14, fontWeight: 600, color: "#0f2a44" } });

  const card = read("people-appraisal-data");
  if (card && card.indicators.length) {
    draw("appraisal-radar", {
      animation: false, title: title(card.title), tooltip: {},
      radar: { indicator: card.indicators, radius: "62%", center: ["50%", "56%"],
               axisName: { color: "#334", fontSize: 11 }, splitNumber: 4 },
      series: [{ type: "radar", name: card.series, areaStyle: { opacity: 0.18 }, lineStyle: { color: "#1d4e7a" },
                 itemStyle: { color: "#1d4e7a" }, data: [{ value: card.scores, name: card.series }] }],
    });
  }
  const dist = read("people-distribution-data");
  if (dist) {
    draw("appraisal-dist", {
      animation: false, title: title(dist.title), tooltip: { trigger: "axis" },
      legend: { top: 0, right: 0, type: "scroll", width: "60%" },
      grid: { left: 40, right: 16, top: 48, bottom: 30 },
      xAxis: { type: "category", data: dist.labels }, yAxis: { type: "value", minInterval: 1 },
      series: dist.series.map((s) => ({ type: "bar", name: s.name, data: s.data })),
    });
  }
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
});
