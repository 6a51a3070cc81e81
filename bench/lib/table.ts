// Markdown rendering: aligned pipe tables and number formats.

export type Align = "left" | "right";

export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, 3, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const pad = (cell: string, column: number) =>
    align[column] === "right" ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!);
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, column) => pad(cell, column)).join(" | ")} |`;
  const rule = widths.map((width, column) =>
    align[column] === "right" ? `${"-".repeat(width - 1)}:` : "-".repeat(width),
  );
  return [line(headers), `| ${rule.join(" | ")} |`, ...rows.map((row) => line(row))].join("\n");
}

/** A number with a fixed count of decimals, or "–" when there is none. */
export function fixed(value: number, decimals: number): string {
  return Number.isFinite(value) ? value.toFixed(decimals) : "–";
}

/** Requests per second with thousands separators. */
export function rate(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "–";
}

export function ratio(value: number, base: number): string {
  return Number.isFinite(value) && Number.isFinite(base) && base > 0 ? `${(value / base).toFixed(2)}×` : "–";
}
