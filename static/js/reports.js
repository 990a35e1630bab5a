// Management reports (管理报表): the period picker shows the date inputs only for a custom range, and each report's
// ECharts charts are drawn from the JSON the page embeds with json_script (no inline scripts: CSP). Every bar, point
// and slice links to the records behind it, like the figures in the tables. Money arrives in 万元 (display only).
document.addEventListener("DOMContentLoaded", () => {
  const period = document.getElementById("id_period");
  const ranges = document.querySelectorAll(".rp-range");
  const toggle = () => ranges.forEach((el) => { el.hidden = !period || period.value !== "range"; });
  if (period) {
    period.addEventListener("change", toggle);
    toggle();
  }

  const el = document.getElementById("reports-data");
  if (!window.echarts || !el) return;
  const data = JSON.parse(el.textContent);
  const palette = ["#1d4e7a", "#b8860b", "#4f8a5b", "#b42318", "#7a5195", "#9aa5b1", "#2f9bb5"];
  const fmt = (v, kind) => {
    if (v === null || v === undefined) return "—";
    if (kind === "money") return `${Number(v).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${data.unit}`;
    if (kind === "pct") return `${Number(v).toFixed(1)}%`;
    if (kind === "score") return Number(v).toFixed(1);
    return Number(v).toLocaleString("zh-CN");
  };
  const charts = [];
  for (const spec of data.charts) {
    const box = document.getElementById(`chart-${spec.key}`);
    if (!box) continue;
    const chart = window.echarts.init(box);
    const long = spec.categories.some((c) => c.length > 5) && spec.categories.length > 3;
    const colors = spec.colors && spec.colors.length ? spec.colors : palette;
    let option;
    if (spec.kind === "pie") {
      const s = spec.series[0];
      option = {
        animation: false, color: colors,
        tooltip: { trigger: "item", formatter: (p) => `${p.name}<br>${fmt(p.value, s.kind)} (${p.percent}%)` },
        legend: { bottom: 0, type: "scroll" },
        series: [{ type: "pie", radius: ["38%", "66%"], center: ["50%", "45%"], labelLine: { show: false },
                   label: { position: "inside", formatter: "{c}", color: "#fff", fontWeight: 600 },
                   data: spec.categories.map((c, i) => ({ name: c, value: s.data[i], link: s.links[i] }))
                     .filter((d) => d.value) }],
      };
    } else {
      const hasLine = spec.series.some((s) => s.line);
      const counts = spec.series.filter((s) => !s.line).every((s) => s.kind === "int");
      const left = { type: "value", minInterval: counts ? 1 : 0 };
      option = {
        animation: false, color: colors,
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        legend: { top: 0, type: "scroll" },
        grid: { left: 8, right: 8, top: 34, bottom: 8, containLabel: true },
        xAxis: { type: "category", data: spec.categories,
                 axisLabel: { interval: 0, rotate: long ? 28 : 0, fontSize: 11, width: 90, overflow: "truncate" } },
        yAxis: hasLine ? [left, { type: "value", splitLine: { show: false } }] : [left],
        series: spec.series.map((s) => ({
          name: s.name, type: spec.kind === "line" || s.line ? "line" : "bar",
          stack: spec.kind === "stack" ? "all" : undefined, yAxisIndex: s.line ? 1 : 0,
          connectNulls: false, barMaxWidth: 34, smooth: false,
          tooltip: { valueFormatter: (v) => fmt(v, s.kind) },
          data: s.data.map((v, i) => ({ value: v, link: s.links[i] })),
        })),
      };
    }
    chart.setOption(option);
    chart.on("click", (p) => {
      const link = p.data && p.data.link;
      if (link) window.location.href = link;
    });
    charts.push(chart);
  }
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
});
