// A horizontal bar chart in plain SVG (no chart library in the bundle): one labelled bar per row, scaled to the
// largest value, with the value written beside it. Colours come from the theme tokens.

/** One bar. */
export interface Bar {
  label: string;
  value: number;
}

/** Props of {@link BarChart}. */
interface Props {
  /** Accessible name of the chart. */
  title: string;
  bars: readonly Bar[];
  /** Text of a value, e.g. credits. */
  format: (value: number) => string;
}

const ROW = 22;
const LABEL_WIDTH = 130;
const VALUE_WIDTH = 110;
const WIDTH = 560;

/** The bars' lengths in px for a drawing area of `width`: proportional, longest = width, never negative. */
export function barLengths(values: readonly number[], width: number): number[] {
  const max = Math.max(0, ...values);
  return values.map((value) => (max === 0 ? 0 : Math.max(0, (value / max) * width)));
}

/** A bar chart. */
export function BarChart({ title, bars, format }: Props) {
  if (bars.length === 0) return <p className="text-muted">No data for this period.</p>;
  const area = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
  const lengths = barLengths(
    bars.map((bar) => bar.value),
    area,
  );
  const height = bars.length * ROW;
  return (
    <svg
      role="img"
      aria-label={title}
      viewBox={`0 0 ${WIDTH} ${height}`}
      width="100%"
      style={{ maxWidth: WIDTH }}
      className="font-mono text-xs"
    >
      {bars.map((bar, index) => {
        const y = index * ROW;
        const length = lengths[index] ?? 0;
        return (
          <g key={`${bar.label}-${index}`}>
            <title>{`${bar.label}: ${format(bar.value)}`}</title>
            <text x={LABEL_WIDTH - 6} y={y + ROW / 2 + 4} textAnchor="end" fill="var(--c-text)">
              {bar.label.length > 18 ? `${bar.label.slice(0, 17)}…` : bar.label}
            </text>
            <rect x={LABEL_WIDTH} y={y + 4} width={length} height={ROW - 8} rx={2} fill="var(--c-accent)" />
            <text x={LABEL_WIDTH + length + 6} y={y + ROW / 2 + 4} fill="var(--c-muted-text)">
              {format(bar.value)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
