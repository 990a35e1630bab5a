// Wealth charts (ECharts), drawn from the JSON the pages embed with json_script (no inline scripts: CSP):
// - the AUM page (#wealth-aum-data): 90-day trend of deposits and wealth stacked, and the value-tier distribution;
// - the product page (#wealth-nav-data): the unit NAV history.
// Labels come translated from the page; amounts arrive already in 万元 (display only).
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
  const fmt = (v) => Number(v).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

  const aum = read("wealth-aum-data");
  if (aum) {
    draw("aum-trend", {
      animation: false, title: title(aum.trendTitle),
      tooltip: { trigger: "axis", valueFormatter: (v) => `${fmt(v)} ${aum.unit}` },
      legend: { top: 0, right: 0, data: [aum.deposits, aum.wealth] },
      grid: { left: 70, right: 16, top: 48, bottom: 30 },
      xAxis: { type: "category", boundaryGap: false, data: aum.days },
      yAxis: { type: "value", name: aum.unit, axisLabel: { formatter: (v) => Number(v).toLocaleString("zh-CN") } },
      series: [
        { name: aum.deposits, type: "line", stack: "aum", areaStyle: { opacity: 0.35 }, showSymbol: aum.days.length < 3,
          itemStyle: { color: "#1d4e7a" }, data: aum.depositSeries },
        { name: aum.wealth, type: "line", stack: "aum", areaStyle: { opacity: 0.35 }, showSymbol: aum.days.length < 3,
          itemStyle: { color: "#b8860b" }, data: aum.wealthSeries },
      ],
    });
    const palette = ["#9aa5b1", "#1d4e7a", "#b8860b"];
    draw("aum-tiers", {
      animation: false, title: title(aum.tierTitle),
      tooltip: { trigger: "item", formatter: (p) => `${p.name}<br>${aum.customers}: ${p.value} (${p.percent}%)<br>${fmt(p.data.aum)} ${aum.unit}` },
      legend: { bottom: 0 },
      series: [{ type: "pie", radius: ["40%", "66%"], center: ["50%", "50%"], avoidLabelOverlap: true,
                 label: { position: "inside", formatter: "{c}", color: "#fff", fontWeight: 600 }, labelLine: { show: false },
                 data: aum.tiers.map((t, i) => ({ name: t.name, value: t.value, aum: t.aum, itemStyle: { color: palette[i] },
                                                  label: { show: t.value > 0 } })) }],
    });
  }

  const nav = read("wealth-nav-data");
  if (nav && nav.dates.length) {
    draw("nav-chart", {
      animation: false,
      tooltip: { trigger: "axis", valueFormatter: (v) => Number(v).toFixed(4) },
      grid: { left: 52, right: 12, top: 16, bottom: 28 },
      xAxis: { type: "category", boundaryGap: false, data: nav.dates },
      yAxis: { type: "value", scale: true, axisLabel: { formatter: (v) => Number(v).toFixed(4) } },
      series: [{ name: nav.series, type: "line", smooth: true, showSymbol: nav.dates.length < 20,
                 lineStyle: { width: 2, color: "#1d4e7a" }, itemStyle: { color: "#1d4e7a" },
                 areaStyle: { color: "rgba(29,78,122,0.08)" }, data: nav.navs }],
    });
  }

  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
});
