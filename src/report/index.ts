/** The maths made visible: worked dims, per-layer analysis (MACs, FLOPs, receptive field), comparisons, the report. */
export { analyzeModel, modelFlops, type AnalysisTotals, type AnalyzeOptions, type LayerAnalysis, type ModelAnalysis, type ModelFlopsOptions } from './analysis.js';
export type { ReceptiveField } from './costs.js';
export { convDims, poolDims, type ConvDimsArgs, type Dims, type PoolDimsArgs } from './dims.js';
export { CLASSIC_NETWORKS, bottleneck, classicTable, compareAll, separable, stackedVsLarge, type Comparison } from './compare.js';
export { formatAnalysis, formatComparison } from './format.js';
export { architectureSvg } from './diagram.js';
export { buildReport, historyFromCsv, type ReportOptions } from './report.js';
export { curvesSvg, writeCurves, type CurvesInput } from './curves.js';
