/**
 * Throughput vs chunk size as a plain SVG (no dependencies): log-scale x
 * (chunk size) and log-scale y (MB/s, the baselines span three decades),
 * one line per transport with its median points and a min–max whisker.
 */
import { ONE_WAY_TABLES, oneWayRows, sizeLabel, type Results, type SeriesKey } from './report.js';

const COLORS: Record<SeriesKey, string> = {
  shm: '#d62728',
  'shm-park': '#ff7f0e',
  tcp: '#1f77b4',
  unix: '#2ca02c',
  pipe: '#9467bd',
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
  const series = ONE_WAY_TABLES.map((t) => ({ ...t, rows: oneWayRows(r, t.series) })).filter((s) => s.rows.length > 0);
  const sizes = [...new Set(series.flatMap((s) => s.rows.map((x) => x.size)))].sort((a, b) => a - b);
  const values = series.flatMap((s) => s.rows.flatMap((x) => [x.mbpsMin, x.mbpsMax]));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${M.left}" y="20" font-size="15" font-weight="600">shmnet one-way throughput vs chunk size (median of ${r.config.reps})</text>`);
  const m = r.machine;
  const about = `${m.cpuModel}, ${m.cores} cores, ${m.os}, Node ${m.node}, ${m.date.slice(0, 10)}; bars: min–max of the repetitions`;
  out.push(`<text x="${M.left}" y="37" fill="#555" font-size="11">${esc(about)}</text>`);
  if (sizes.length === 0 || values.length === 0) {
    out.push(`<text x="${M.left}" y="${M.top + 20}">no throughput data</text></svg>`);
    return out.join('\n') + '\n';
  }

  const lx0 = Math.log2(sizes[0]!);
  const lx1 = Math.log2(sizes[sizes.length - 1]!);
  const x = (size: number) => M.left + (lx1 === lx0 ? pw / 2 : ((Math.log2(size) - lx0) / (lx1 - lx0)) * pw);
  // y range: the data with a little room, on a log scale.
  const ly0 = Math.log10(Math.min(...values) / 1.25);
  const ly1 = Math.log10(Math.max(...values) * 1.25);
  const y = (v: number) => M.top + ph - ((Math.log10(v) - ly0) / Math.max(1e-9, ly1 - ly0)) * ph;

  // grid and y axis: 1-2-5 per decade
  for (let d = Math.floor(ly0); d <= Math.ceil(ly1); d++) {
    for (const k of [1, 2, 5]) {
      const v = k * 10 ** d;
      const lv = Math.log10(v);
      if (lv < ly0 || lv > ly1) continue;
      const yy = y(v).toFixed(1);
      out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${yy}" y2="${yy}" stroke="${k === 1 ? '#ccc' : '#eee'}"/>`);
      out.push(`<text x="${M.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle" fill="#444">${fmtMbps(v)}</text>`);
    }
  }
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
