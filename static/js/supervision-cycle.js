// Process cycle times (流程时效): one small ECharts line chart per process, median and p90 per period, drawn from the
// JSON the page embeds with json_script (no inline scripts: CSP). Values are hours; gaps (no finished case) stay gaps.
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("sv-cycle-data");
  if (!window.echarts || !el) return;
  const data = JSON.parse(el.textContent);
  const charts = [];
  for (const p of data.processes) {
    const box = document.getElementById(`cycle-${p.code}`);
    if (!box) continue;
    const chart = window.echarts.init(box);
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", valueFormatter: (v) => (v == null ? "—" : `${Number(v).toFixed(1)} ${data.unit}`) },
      legend: { top: 0, right: 0, data: [data.median, data.p90], textStyle: { fontSize: 11 } },
      grid: { left: 44, right: 10, top: 28, bottom: 24 },
      xAxis: { type: "category", data: data.periods, axisLabel: { fontSize: 10 } },
      yAxis: { type: "value", name: data.unit, nameTextStyle: { fontSize: 10 }, axisLabel: { fontSize: 10 } },
      series: [
        { name: data.median, type: "line", data: p.median, connectNulls: false, itemStyle: { color: "#1d4e7a" } },
        { name: data.p90, type: "line", data: p.p90, connectNulls: false, lineStyle: { type: "dashed" },
          itemStyle: { color: "#b8860b" } },
      ],
    });
    charts.push(chart);
  }
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
});
