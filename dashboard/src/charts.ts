/** Drawing charts: ECharts loads on first use (its own chunk), one instance per element, resized with it. */

import type { EChartsCoreOption, EChartsType } from "echarts/core";

type Setup = typeof import("./echarts-setup");
let setup: Promise<Setup> | null = null;

export function loadECharts(): Promise<Setup> {
  setup ??= import("./echarts-setup");
  return setup;
}

/** The palette, shared with styles.css. */
export const COLORS = ["#0f766e", "#2563eb", "#f59e0b", "#db2777", "#7c3aed", "#16a34a", "#ea580c", "#0891b2", "#64748b"];
export const TEXT = "#334155";
export const MUTED = "#94a3b8";
export const GRID_LINE = "#e2e8f0";

const instances = new WeakMap<HTMLElement, EChartsType>();
const observer = new ResizeObserver((entries) => {
  for (const entry of entries) instances.get(entry.target as HTMLElement)?.resize();
});

/** Draw `option` into `element` (replacing what was there). */
export async function draw(element: HTMLElement, option: EChartsCoreOption): Promise<EChartsType> {
  const { echarts } = await loadECharts();
  let chart = instances.get(element);
  if (!chart || chart.isDisposed()) {
    chart = echarts.init(element, null, { renderer: "canvas" });
    instances.set(element, chart);
    observer.observe(element);
  }
  chart.setOption(
    {
      color: COLORS,
      textStyle: { fontFamily: "Inter, system-ui, sans-serif", color: TEXT },
      animationDuration: 400,
      ...option,
    },
    { notMerge: true },
  );
  return chart;
}

/** A small line without axes, for a KPI tile. */
export function sparklineOption(values: number[], color = COLORS[0]): EChartsCoreOption {
  return {
    animation: false,
    grid: { left: 0, right: 0, top: 2, bottom: 2 },
    xAxis: { type: "category", show: false, boundaryGap: false, data: values.map((_, i) => i) },
    yAxis: { type: "value", show: false, scale: true },
    tooltip: { show: false },
    series: [
      {
        type: "line",
        data: values,
        smooth: true,
        symbol: "none",
        lineStyle: { width: 1.6, color },
        areaStyle: { color, opacity: 0.12 },
      },
    ],
  };
}

export const axisStyle = {
  axisLine: { lineStyle: { color: GRID_LINE } },
  axisTick: { show: false },
  axisLabel: { color: MUTED, fontSize: 11 },
  splitLine: { lineStyle: { color: GRID_LINE, type: "dashed" as const } },
};
