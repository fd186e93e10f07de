/** A small hand-written SVG bar chart: panels of labelled rows, each row one or more bars, optional reference lines. */
export interface Bar {
  series: string;
  value: number;
}

export interface Panel {
  title: string;
  unit: string;
  rows: { label: string; bars: Bar[] }[];
  lines?: { value: number; label: string }[];
}

const WIDTH = 960;
const LABEL_WIDTH = 230;
const VALUE_ROOM = 90;
const BAR_HEIGHT = 14;
const ROW_GAP = 8;
const PANEL_GAP = 46;
const COLORS = ['#2b6cb0', '#dd6b20', '#38a169', '#805ad5', '#d53f8c', '#718096'];

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function formatValue(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(value >= 10 ? 1 : 2);
}

export function renderSvg(title: string, panels: readonly Panel[]): string {
  const parts: string[] = [];
  const series = [...new Set(panels.flatMap((p) => p.rows.flatMap((r) => r.bars.map((b) => b.series))))];
  const color = (name: string) => COLORS[series.indexOf(name) % COLORS.length] ?? '#000';
  let y = 40;
  parts.push(`<text x="16" y="26" font-size="18" font-weight="bold">${escape(title)}</text>`);
  const plotWidth = WIDTH - LABEL_WIDTH - VALUE_ROOM - 16;
  for (const panel of panels) {
    const values = panel.rows
      .flatMap((r) => r.bars.map((b) => b.value))
      .concat((panel.lines ?? []).map((l) => l.value));
    const max = Math.max(1e-9, ...values.filter((v) => Number.isFinite(v)));
    const scale = (v: number) => (Number.isFinite(v) ? (Math.max(0, v) / max) * plotWidth : 0);
    y += 22;
    parts.push(
      `<text x="16" y="${y}" font-size="14" font-weight="bold">${escape(panel.title)} (${escape(panel.unit)})</text>`,
    );
    // A legend per panel, only where a row has several bars.
    const panelSeries = [...new Set(panel.rows.flatMap((r) => r.bars.map((b) => b.series)))];
    if (panelSeries.length > 1) {
      panelSeries.forEach((name, i) => {
        const x = WIDTH - 16 - (panelSeries.length - i) * 130;
        parts.push(
          `<rect x="${x}" y="${y - 10}" width="11" height="11" fill="${color(name)}"/>`,
          `<text x="${x + 15}" y="${y}" font-size="11">${escape(name)}</text>`,
        );
      });
    }
    y += 10;
    const top = y;
    for (const row of panel.rows) {
      const rowHeight = row.bars.length * BAR_HEIGHT;
      parts.push(
        `<text x="${LABEL_WIDTH - 8}" y="${y + rowHeight / 2 + 4}" font-size="12" text-anchor="end">${escape(row.label)}</text>`,
      );
      row.bars.forEach((bar, i) => {
        const by = y + i * BAR_HEIGHT;
        const w = scale(bar.value);
        parts.push(
          `<rect x="${LABEL_WIDTH}" y="${by + 1}" width="${w.toFixed(1)}" height="${BAR_HEIGHT - 2}" fill="${color(bar.series)}"><title>${escape(`${bar.series}: ${formatValue(bar.value)} ${panel.unit}`)}</title></rect>`,
          `<text x="${(LABEL_WIDTH + w + 4).toFixed(1)}" y="${by + BAR_HEIGHT - 3}" font-size="11">${escape(formatValue(bar.value))}</text>`,
        );
      });
      y += rowHeight + ROW_GAP;
    }
    const lines = panel.lines ?? [];
    lines.forEach((line, i) => {
      const x = LABEL_WIDTH + scale(line.value);
      // Labels on separate lines, so two close reference lines stay readable.
      parts.push(
        `<line x1="${x.toFixed(1)}" y1="${top - 4}" x2="${x.toFixed(1)}" y2="${y - ROW_GAP + 2}" stroke="#c53030" stroke-dasharray="4 3"/>`,
        `<text x="${x.toFixed(1)}" y="${y + 8 + i * 11}" font-size="10" fill="#c53030" text-anchor="middle">${escape(`${line.label} ${formatValue(line.value)}`)}</text>`,
      );
    });
    y += PANEL_GAP - 22 + lines.length * 11;
  }
  const height = y + 16;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
