/**
 * The charts, as plain SVG (no dependencies):
 *   - throughput vs chunk size: log-scale x (chunk size) and log-scale y
 *     (MB/s, the baselines span three decades), one line per transport and
 *     peer library with its median points and a min–max whisker;
 *   - round trips: one bar group per transport, median and p99 (log-scale
 *     y: 1 µs to milliseconds), each with the spread of its repetitions.
 */
import { machineShort } from './machine.js';
import { latencyRows, ONE_WAY_SERIES, oneWayRows, roundTripRows, sizeLabel, type LatencyRow, type Results, type SeriesKey } from './report.js';

const COLORS: Record<SeriesKey, string> = {
  shm: '#d62728',
  'shm-park': '#ff7f0e',
  'shm-onread': '#e377c2',
  'shm-lanes': '#bcbd22',
  tcp: '#1f77b4',
  unix: '#2ca02c',
  pipe: '#9467bd',
  zeromq: '#8c564b',
  memcpy: '#7f7f7f',
};

const W = 800;
const H = 480;
const M = { left: 78, right: 150, top: 48, bottom: 70 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmtMbps(v: number): string {
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e3) return `${v / 1e3}k`;
  return String(v);
}

export function throughputSvg(r: Results): string {
  const series = ONE_WAY_SERIES.map((t) => ({ ...t, rows: oneWayRows(r, t.series) })).filter((s) => s.rows.length > 0);
  const sizes = [...new Set(series.flatMap((s) => s.rows.map((x) => x.size)))].sort((a, b) => a - b);
  const values = series.flatMap((s) => s.rows.flatMap((x) => [x.mbpsMin, x.mbpsMax]));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${M.left}" y="20" font-size="15" font-weight="600">shmnet one-way throughput vs chunk size (median of ${r.config.reps})</text>`);
  const about = `${machineShort(r.machine)}; bars: min–max of the repetitions; absolute MB/s are this machine's`;
  out.push(`<text x="${M.left}" y="37" fill="#555" font-size="11">${esc(about)}</text>`);
  if (sizes.length === 0 || values.length === 0) {
    out.push(`<text x="${M.left}" y="${M.top + 20}">no throughput data</text></svg>`);
    return out.join('\n') + '\n';
  }

  const lx0 = Math.log2(sizes[0]!);
  const lx1 = Math.log2(sizes[sizes.length - 1]!);
  const x = (size: number) => M.left + (lx1 === lx0 ? pw / 2 : ((Math.log2(size) - lx0) / (lx1 - lx0)) * pw);
  // y range: the data with a little room, on a log scale; grid 1-2-5 per decade.
  const y = logAxis(out, Math.min(...values) / 1.25, Math.max(...values) * 1.25, M.left, pw, M.top, ph, fmtMbps);

  for (const s of sizes) {
    const xx = x(s).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${M.top}" y2="${M.top + ph}" stroke="#eee"/>`);
    out.push(`<text x="${xx}" y="${M.top + ph + 18}" text-anchor="middle" fill="#444">${sizeLabel(s)}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 28}" text-anchor="middle">chunk size (log scale)</text>`);
  out.push(`<text transform="translate(20 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">throughput, MB/s (log scale)</text>`);

  series.forEach((s, i) => {
    const color = COLORS[s.series];
    const pts = s.rows.map((row) => `${x(row.size).toFixed(1)},${y(row.mbps).toFixed(1)}`).join(' ');
    out.push(`<g stroke="${color}" fill="${color}">`);
    out.push(`<polyline points="${pts}" fill="none" stroke-width="2"${s.series === 'memcpy' ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const row of s.rows) {
      const xx = x(row.size).toFixed(1);
      out.push(`<line x1="${xx}" x2="${xx}" y1="${y(row.mbpsMin).toFixed(1)}" y2="${y(row.mbpsMax).toFixed(1)}" stroke-width="1"/>`);
      out.push(`<circle cx="${xx}" cy="${y(row.mbps).toFixed(1)}" r="3"><title>${esc(s.label)} ${sizeLabel(row.size)}: ${row.mbps.toFixed(0)} MB/s</title></circle>`);
    }
    out.push('</g>');
    const ly = M.top + 10 + i * 20;
    const lx = M.left + pw + 14;
    out.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${s.series === 'memcpy' ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${lx + 28}" y="${ly}" dominant-baseline="middle">${esc(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Log-scale y axis with 1-2-5 grid lines per decade, from `lo` to `hi`. */
function logAxis(out: string[], lo: number, hi: number, left: number, width: number, top: number, height: number, fmt: (v: number) => string): (v: number) => number {
  const ly0 = Math.log10(lo);
  const ly1 = Math.log10(hi);
  const y = (v: number) => top + height - ((Math.log10(v) - ly0) / Math.max(1e-9, ly1 - ly0)) * height;
  for (let d = Math.floor(ly0); d <= Math.ceil(ly1); d++) {
    for (const k of [1, 2, 5]) {
      const v = k * 10 ** d;
      const lv = Math.log10(v);
      if (lv < ly0 || lv > ly1) continue;
      const yy = y(v).toFixed(1);
      out.push(`<line x1="${left}" x2="${left + width}" y1="${yy}" y2="${yy}" stroke="${k === 1 ? '#ccc' : '#eee'}"/>`);
      out.push(`<text x="${left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle" fill="#444">${fmt(v)}</text>`);
    }
  }
  return y;
}

function fmtUs(v: number): string {
  return v >= 1000 ? `${v / 1000} ms` : `${v} µs`;
}

const LAT_H = 580;
const LAT_M = { left: 70, right: 170, top: 70, bottom: 250 };
const MEDIAN_COLOR = '#1f77b4';
const P99_COLOR = '#ff7f0e';

/** Round trips: a bar group (median, p99) per transport, byte ping-pong, request/response, gRPC and worker tasks. */
export function latencySvg(r: Results): string {
  const groups: Array<{ title: string; rows: LatencyRow[] }> = [
    { title: 'ping-pong', rows: latencyRows(r).map((x) => ({ ...x, label: `${x.label}, ${x.size} B` })) },
    { title: 'request/response', rows: roundTripRows(r, 'rpc') },
    { title: 'gRPC unary', rows: roundTripRows(r, 'grpc').map((x) => ({ ...x, label: `${x.label}, ${sizeLabel(x.size)}` })) },
    { title: 'worker tasks', rows: roundTripRows(r, 'tasks') },
  ].filter((g) => g.rows.length > 0);
  const rows = groups.flatMap((g) => g.rows);
  const group = 34;
  const width = Math.max(W, LAT_M.left + LAT_M.right + rows.length * group + (groups.length - 1) * 12);
  const pw = width - LAT_M.left - LAT_M.right;
  const ph = LAT_H - LAT_M.top - LAT_M.bottom;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${LAT_H}" viewBox="0 0 ${width} ${LAT_H}" font-family="system-ui, sans-serif" font-size="11">`);
  out.push(`<rect width="${width}" height="${LAT_H}" fill="#fff"/>`);
  out.push(`<text x="${LAT_M.left}" y="20" font-size="15" font-weight="600">Round-trip time per transport: median and p99 (median of ${r.config.reps} repetitions)</text>`);
  out.push(`<text x="${LAT_M.left}" y="37" fill="#555">${esc(`${machineShort(r.machine)}; whiskers: min–max of the repetitions; one request in flight; lower is better`)}</text>`);
  out.push(`<rect x="${LAT_M.left}" y="47" width="10" height="10" fill="${MEDIAN_COLOR}"/><text x="${LAT_M.left + 14}" y="56">median</text>`);
  out.push(`<rect x="${LAT_M.left + 70}" y="47" width="10" height="10" fill="${P99_COLOR}"/><text x="${LAT_M.left + 84}" y="56">p99</text>`);
  if (rows.length === 0) {
    out.push(`<text x="${LAT_M.left}" y="${LAT_M.top + 20}">no round-trip data</text></svg>`);
    return out.join('\n') + '\n';
  }
  const values = rows.flatMap((x) => [x.medianMin, x.p99Max]).filter((v) => v > 0);
  const y = logAxis(out, Math.min(...values) / 1.3, Math.max(...values) * 1.3, LAT_M.left, pw, LAT_M.top, ph, fmtUs);
  out.push(`<rect x="${LAT_M.left}" y="${LAT_M.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  out.push(`<text transform="translate(18 ${LAT_M.top + ph / 2}) rotate(-90)" text-anchor="middle">round trip (log scale)</text>`);
  const base = LAT_M.top + ph;
  const step = (pw - (groups.length - 1) * 12) / rows.length;
  let x0 = LAT_M.left;
  for (const g of groups) {
    const gx = x0;
    for (const row of g.rows) {
      const bw = Math.min(12, step / 3);
      const cx = x0 + step / 2;
      for (const [i, v, lo, hi, color, name] of [
        [0, row.median, row.medianMin, row.medianMax, MEDIAN_COLOR, 'median'],
        [1, row.p99, row.p99Min, row.p99Max, P99_COLOR, 'p99'],
      ] as const) {
        const bx = cx - bw + i * bw;
        const top = y(v);
        out.push(`<rect x="${bx.toFixed(1)}" y="${top.toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${(base - top).toFixed(1)}" fill="${color}"><title>${esc(row.label)}: ${name} ${v.toFixed(1)} µs</title></rect>`);
        const wx = (bx + (bw - 1) / 2).toFixed(1);
        out.push(`<line x1="${wx}" x2="${wx}" y1="${y(lo).toFixed(1)}" y2="${y(hi).toFixed(1)}" stroke="#333"/>`);
      }
      out.push(`<text transform="translate(${cx.toFixed(1)} ${base + 8}) rotate(50)" fill="#222">${esc(row.label)}</text>`);
      x0 += step;
    }
    out.push(`<text x="${((gx + x0) / 2).toFixed(1)}" y="${LAT_M.top - 4}" text-anchor="middle" fill="#555">${esc(g.title)}</text>`);
    if (g !== groups[groups.length - 1]) out.push(`<line x1="${(x0 + 6).toFixed(1)}" x2="${(x0 + 6).toFixed(1)}" y1="${LAT_M.top}" y2="${base}" stroke="#bbb" stroke-dasharray="3 3"/>`);
    x0 += 12;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
