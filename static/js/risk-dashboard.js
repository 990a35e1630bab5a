// The risk dashboard's charts (ECharts), drawn from the JSON the page embeds with json_script.
document.addEventListener("DOMContentLoaded", () => {
  const dataEl = document.getElementById("risk-chart-data");
  if (!dataEl || !window.echarts) return;
  const data = JSON.parse(dataEl.textContent);
  const colors = { byRule: "#1d4e7a", ages: "#c47f17" };
  const bar = (id, d) => {
    const el = document.getElementById(id);
    if (!el) return;
    window.echarts.init(el).setOption({
      animation: false, title: { text: d.title, left: 0, textStyle: { fontSize: 14, fontWeight: 600 } },
      grid: { left: 40, right: 10, top: 56, bottom: 30 }, tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: d.labels, axisLabel: { interval: 0 } }, yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "bar", data: d.values, itemStyle: { color: colors[id.replace("chart-", "")] || "#1d4e7a" },
                 label: { show: true, position: "top" } }],
    });
  };
  bar("chart-byRule", data.byRule);
  bar("chart-ages", data.ages);
  const pieEl = document.getElementById("chart-ratings");
  if (pieEl) {
    const palette = ["#b42318", "#c47f17", "#2e7d32", "#9aa5b1"];
    window.echarts.init(pieEl).setOption({
      animation: false, title: { text: data.ratings.title, left: 0, textStyle: { fontSize: 14, fontWeight: 600 } },
      tooltip: { trigger: "item" }, legend: { bottom: 0 },
      // the names are in the legend: the slices carry their counts only (names cut off in English)
      series: [{ type: "pie", radius: ["32%", "58%"], center: ["50%", "48%"], label: { formatter: "{c}" },
                 data: data.ratings.labels.map((l, i) => {
                   const value = data.ratings.values[i];
                   const hidden = value ? {} : { label: { show: false }, labelLine: { show: false } };
                   return { name: l, value, itemStyle: { color: palette[i] }, ...hidden };
                 }) }],
    });
  }
});
