import { QUALITY_THRESHOLDS, type QualityReport } from "./assess.js";

const WIDTH = 640;
const HEIGHT = 420;
const MARGIN = { left: 60, right: 20, top: 40, bottom: 50 };

/**
 * Ratio against quality, one point a memory, as a standalone SVG: the exact form (stored bytes over
 * original; quality 1 when it reads back byte for byte) and the semantic form (summary and entities
 * over original; quality = embedding cosine with the original). Flagged memories are red; the dashed
 * line is the similarity threshold.
 */
export function ratioQualityChart(report: QualityReport): string {
  const points = report.rows.flatMap((row) => {
    const exact = { x: row.originalBytes ? row.storedBytes / row.originalBytes : 0, y: row.exactMatch ? 1 : 0, kind: "exact" as const, flagged: !row.exactMatch, id: row.id };
    return row.semantic ? [exact, { x: row.semantic.ratio, y: row.semantic.similarity, kind: "semantic" as const, flagged: row.flags.length > 0, id: row.id }] : [exact];
  });
  const maxX = Math.max(1, ...points.map((p) => p.x));
  const xMax = Math.ceil(maxX * 4) / 4;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sx = (x: number) => MARGIN.left + (Math.min(x, xMax) / xMax) * plotW;
  const sy = (y: number) => MARGIN.top + (1 - Math.max(0, Math.min(1, y))) * plotH;
  const f = (v: number) => v.toFixed(1);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`);
  parts.push(`<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="14">memzip quality: ratio against quality (${report.memories} memories, ${escapeXml(report.embedder)})</text>`);
  for (let i = 0; i <= 4; i++) {
    const x = (xMax * i) / 4;
    const y = i / 4;
    parts.push(`<line x1="${f(sx(x))}" y1="${MARGIN.top}" x2="${f(sx(x))}" y2="${HEIGHT - MARGIN.bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${f(sx(x))}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle">${x.toFixed(2)}</text>`);
    parts.push(`<line x1="${MARGIN.left}" y1="${f(sy(y))}" x2="${WIDTH - MARGIN.right}" y2="${f(sy(y))}" stroke="#eee"/>`);
    parts.push(`<text x="${MARGIN.left - 8}" y="${f(sy(y) + 4)}" text-anchor="end">${y.toFixed(2)}</text>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 12}" text-anchor="middle">bytes kept / original bytes (exact: envelope; shared assets: ${report.assetBytes} bytes more)</text>`);
  parts.push(`<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">quality (exact: 1 = byte for byte; semantic: cosine)</text>`);
  const threshold = sy(QUALITY_THRESHOLDS.similarity);
  parts.push(`<line x1="${MARGIN.left}" y1="${f(threshold)}" x2="${WIDTH - MARGIN.right}" y2="${f(threshold)}" stroke="#c00" stroke-dasharray="6 4"/>`);
  for (const p of points) {
    const colour = p.flagged ? "#d62728" : p.kind === "exact" ? "#1f77b4" : "#ff7f0e";
    const title = `<title>${escapeXml(p.id)} (${p.kind}): ratio ${p.x.toFixed(3)}, quality ${p.y.toFixed(3)}</title>`;
    parts.push(
      p.kind === "exact"
        ? `<rect class="exact" x="${f(sx(p.x) - 3)}" y="${f(sy(p.y) - 3)}" width="6" height="6" fill="${colour}" fill-opacity="0.6">${title}</rect>`
        : `<circle class="semantic" cx="${f(sx(p.x))}" cy="${f(sy(p.y))}" r="3.5" fill="${colour}" fill-opacity="0.6">${title}</circle>`,
    );
  }
  const legendY = MARGIN.top + 14;
  parts.push(`<rect x="${MARGIN.left + 10}" y="${legendY - 9}" width="8" height="8" fill="#1f77b4"/><text x="${MARGIN.left + 24}" y="${legendY}">exact</text>`);
  parts.push(`<circle cx="${MARGIN.left + 84}" cy="${legendY - 4}" r="4" fill="#ff7f0e"/><text x="${MARGIN.left + 94}" y="${legendY}">semantic</text>`);
  parts.push(`<circle cx="${MARGIN.left + 174}" cy="${legendY - 4}" r="4" fill="#d62728"/><text x="${MARGIN.left + 184}" y="${legendY}">flagged</text>`);
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
