// The complaint statistics charts (ECharts), drawn from the JSON the page embeds with json_script.
document.addEventListener("DOMContentLoaded", () => {
  const dataEl = document.getElementById("service-chart-data");
  if (!dataEl || !window.echarts) return;
  const data = JSON.parse(dataEl.textContent);
  const bar = (id, d, color, horizontal) => {
    const el = document.getElementById(id);
    if (!el) return;
    const cat = { type: "category", data: d.labels, axisLabel: { interval: 0 } };
    const val = { type: "value", minInterval: 1 };
    window.echarts.init(el).setOption({
      animation: false, title: { text: d.title, left: 0, textStyle: { fontSize: 14, fontWeight: 600 } },
      grid: { left: horizontal ? 90 : 40, right: 16, top: 48, bottom: 30 }, tooltip: { trigger: "axis" },
      xAxis: horizontal ? val : cat, yAxis: horizontal ? { ...cat, inverse: true } : val,
      series: [{ type: "bar", data: d.values, barMaxWidth: 28, itemStyle: { color }, label: { show: true, position: horizontal ? "right" : "top" } }],
    });
  };
  bar("chart-byCause", data.byCause, "#b42318", true);
  bar("chart-byProduct", data.byProduct, "#1d4e7a", true);
  bar("chart-buckets", data.buckets, "#c47f17", false);
});
