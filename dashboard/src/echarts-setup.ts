/** ECharts with only the charts and components the dashboard draws (tree-shaken, one lazy chunk). */

import { BarChart, HeatmapChart, LineChart, SankeyChart } from "echarts/charts";
import { GridComponent, TooltipComponent, VisualMapComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([BarChart, HeatmapChart, LineChart, SankeyChart, GridComponent, TooltipComponent, VisualMapComponent, CanvasRenderer]);

export { echarts };
