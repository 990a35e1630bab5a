// The customer 360 page's relationship graph (ECharts), drawn from the JSON the page embeds with json_script.
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("relationship-graph");
  const dataEl = document.getElementById("relationship-data");
  if (!el || !dataEl || !window.echarts) return;
  const data = JSON.parse(dataEl.textContent);
  const chart = window.echarts.init(el);
  chart.setOption({
    tooltip: { show: false },
    series: [{
      type: "graph", layout: "force", roam: false, draggable: true,
      force: { repulsion: 260, edgeLength: 110 },
      label: { show: true, position: "bottom", fontSize: 13 },
      edgeLabel: { show: true, formatter: (p) => p.data.label, fontSize: 12, color: "#5b6b7c" },
      lineStyle: { color: "#9db4cc", width: 2 },
      data: data.nodes.map((n) => ({
        id: n.id, name: n.name, symbolSize: n.center ? 46 : 34,
        symbol: n.kind === "company" ? "roundRect" : "circle",
        itemStyle: { color: n.center ? "#0f2a44" : (n.visible === false ? "#c4ccd6" : "#1d4e7a") },
      })),
      links: data.links.map((l) => ({ source: l.source, target: l.target, label: l.label })),
    }],
  });
  window.addEventListener("resize", () => chart.resize());
});
