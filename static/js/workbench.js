// Role workbench charts on the home page (reports/workbench.py): Apache ECharts drawn from the JSON each role section
// embeds with json_script (no inline scripts: CSP). Labels, units and links come from the page; a bar, point or slice
// with a link opens the records behind it. Several role sections share one pass (the script may be included twice).
document.addEventListener("DOMContentLoaded", () => {
  if (window.bcWorkbenchDrawn || !window.echarts) return;
  window.bcWorkbenchDrawn = true;
  const lang = document.documentElement.lang || "zh-CN";
  const sources = {};
  const read = (id) => {
    if (!(id in sources)) {
      const el = document.getElementById(id);
      sources[id] = el ? JSON.parse(el.textContent) : {};
    }
    return sources[id];
  };
  const fmt = (v) => (v === null || v === undefined ? "—" : Number(v).toLocaleString(lang));

  const cartesian = (c) => {
    const horizontal = c.kind === "hbar";
    const axes = c.axes.length ? c.axes : [{}];
    const category = {
      type: "category", data: c.labels, inverse: horizontal,
      axisLabel: horizontal ? { width: 190, overflow: "truncate" } : { hideOverlap: true },
      boundaryGap: c.kind !== "line",
    };
    const values = axes.map((a, i) => ({
      type: "value", name: a.name || "", max: a.max, minInterval: a.max ? undefined : 1,
      position: horizontal ? undefined : (i === 0 ? "left" : "right"),
      splitLine: { show: i === 0 }, axisLabel: { formatter: (v) => Number(v).toLocaleString(lang) },
      nameTextStyle: { color: "#6b7a8c" },
    }));
    const series = c.series.map((s) => ({
      name: s.name, type: s.type === "line" ? "line" : "bar", stack: s.stack || undefined,
      yAxisIndex: horizontal ? undefined : (s.axis || 0), connectNulls: true,
      showSymbol: s.type === "line" && c.labels.length < 20, smooth: false, barMaxWidth: 36,
      areaStyle: s.area ? { opacity: 0.3 } : undefined,
      itemStyle: s.color ? { color: s.color } : undefined, lineStyle: s.color ? { color: s.color, width: 2 } : undefined,
      label: horizontal ? { show: true, position: "right",
                            formatter: (p) => (s.labels ? s.labels[p.dataIndex] : fmt(p.value)) } : undefined,
      data: s.colors ? s.data.map((v, i) => ({ value: v, itemStyle: { color: s.colors[i] } })) : s.data,
    }));
    return {
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: horizontal ? "shadow" : "line" }, valueFormatter: fmt },
      legend: c.series.length > 1 ? { top: 0, right: 0, itemWidth: 14, itemHeight: 10 } : undefined,
      grid: { left: 8, right: horizontal ? (c.series.some((x) => x.labels) ? 120 : 36) : 8, top: c.series.length > 1 || axes.some((a) => a.name) ? 36 : 12,
              bottom: 4, containLabel: true },
      xAxis: horizontal ? values[0] : category,
      yAxis: horizontal ? category : values,
      series,
    };
  };

  const pie = (c) => {
    const s = c.series[0];
    return {
      animation: false,
      tooltip: { trigger: "item", formatter: (p) => `${p.name}: ${fmt(p.value)} (${p.percent}%)` },
      legend: { bottom: 0, itemWidth: 14, itemHeight: 10 },
      series: [{
        name: s.name, type: "pie", radius: ["38%", "64%"], center: ["50%", "45%"], avoidLabelOverlap: true,
        label: { formatter: (p) => `${p.name} ${fmt(p.value)}` },
        data: c.labels.map((l, i) => ({ name: l, value: s.data[i], itemStyle: s.colors ? { color: s.colors[i] } : undefined }))
          .filter((d) => d.value),
      }],
    };
  };

  const charts = [];
  document.querySelectorAll("[data-wb-chart]").forEach((el) => {
    const c = read(el.dataset.source)[el.dataset.wbChart];
    if (!c) return;
    const chart = window.echarts.init(el);
    chart.setOption(c.kind === "pie" ? pie(c) : cartesian(c));
    chart.on("click", (p) => {
      const series = c.series[p.seriesIndex] || {};
      const index = c.kind === "pie" ? c.labels.indexOf(p.name) : p.dataIndex;
      const url = series.url || c.urls[index] || "";
      if (url) window.location.href = url;
    });
    el.dataset.drawn = "1";
    charts.push(chart);
  });
  window.addEventListener("resize", () => charts.forEach((x) => x.resize()));
});
