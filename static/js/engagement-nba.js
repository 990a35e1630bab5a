// Charts of segments and next best action (ECharts), from the JSON the pages embed with json_script (CSP: no inline
// scripts): the conversion statistics page (#nba-stats-data: bars by action, category and segment) and the segment
// overview (#segments-data: tier / RFM / cluster distributions and the cluster centres).
document.addEventListener("DOMContentLoaded", () => {
  if (!window.echarts) return;
  const read = (id) => {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  };
  const title = (text) => ({ text, left: 0, textStyle: { fontSize: 14, fontWeight: 600, color: "#0f2a44" } });
  const charts = [];
  const draw = (id, option) => {
    const el = document.getElementById(id);
    if (!el) return;
    const chart = window.echarts.init(el);
    chart.setOption({ animation: false, ...option });
    charts.push(chart);
  };

  const stats = read("nba-stats-data");
  if (stats) {
    const L = stats.legend;
    const bars = (id, d) => draw(id, {
      title: title(d.title), tooltip: { trigger: "axis" },
      legend: { top: 0, right: 0, data: [L.total, L.accepted, L.converted, L.rate] },
      grid: { left: 40, right: 44, top: 56, bottom: 40 },
      xAxis: { type: "category", data: d.labels, axisLabel: { interval: 0, rotate: d.labels.length > 4 ? 20 : 0 } },
      yAxis: [{ type: "value", minInterval: 1 }, { type: "value", max: 100, axisLabel: { formatter: "{value}%" } }],
      series: [
        { name: L.total, type: "bar", data: d.total, barMaxWidth: 22, itemStyle: { color: "#9fb3c8" } },
        { name: L.accepted, type: "bar", data: d.accepted, barMaxWidth: 22, itemStyle: { color: "#1d4e7a" } },
        { name: L.converted, type: "bar", data: d.converted, barMaxWidth: 22, itemStyle: { color: "#2f8f4e" },
          label: { show: true, position: "top" } },
        { name: L.rate, type: "line", yAxisIndex: 1, data: d.rate, itemStyle: { color: "#c47f17" } },
      ],
    });
    bars("nba-chart-byKind", stats.byKind);
    bars("nba-chart-byCategory", stats.byCategory);
    bars("nba-chart-byTier", stats.byTier);
    bars("nba-chart-byCluster", stats.byCluster);
    bars("nba-chart-byRfm", stats.byRfm);
  }

  const seg = read("segments-data");
  if (seg) {
    const bar = (id, d, color) => draw(id, {
      title: title(d.title), tooltip: { trigger: "axis" }, grid: { left: 96, right: 30, top: 40, bottom: 20 },
      xAxis: { type: "value", minInterval: 1 }, yAxis: { type: "category", data: d.labels, inverse: true },
      series: [{ type: "bar", data: d.values, barMaxWidth: 20, itemStyle: { color }, label: { show: true, position: "right" } }],
    });
    bar("seg-chart-tier", seg.tier, "#1d4e7a");
    bar("seg-chart-rfm", seg.rfm, "#c47f17");
    bar("seg-chart-cluster", seg.cluster, "#2f8f4e");
    if (seg.centres) {
      // centres per feature, each feature scaled to its largest absolute centre so that they share one axis
      const f = seg.centres.features;
      const max = f.map((_, i) => Math.max(1e-9, ...seg.centres.clusters.map((c) => Math.abs(c.center[i] || 0))));
      draw("seg-chart-centres", {
        tooltip: { trigger: "axis" }, legend: { top: 0, data: seg.centres.clusters.map((c) => c.label) },
        grid: { left: 40, right: 16, top: 40, bottom: 60 },
        xAxis: { type: "category", data: f, axisLabel: { interval: 0, rotate: 25 } },
        yAxis: { type: "value", max: 1, min: (v) => Math.min(0, v.min) },
        series: seg.centres.clusters.map((c) => ({
          name: c.label, type: "bar", barMaxWidth: 12,
          data: c.center.map((v, i) => Math.round((v / max[i]) * 100) / 100),
        })),
      });
    }
  }
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
});
