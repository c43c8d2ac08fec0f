/** 1234567 → "1.23M", 45678 → "45.7k". */
export function rate(perSec: number): string {
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(perSec >= 1e7 ? 1 : 2)}M`;
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(perSec >= 1e5 ? 0 : 1)}k`;
  return perSec.toFixed(0);
}

/** Nanoseconds as microseconds: 812 → "0.81", 15300 → "15.3". */
export function micros(ns: number): string {
  const us = ns / 1000;
  return us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2);
}

/** A ratio as "×1.23". */
export function ratio(value: number, reference: number): string {
  const r = value / reference;
  return `×${r >= 10 ? r.toFixed(1) : r.toFixed(2)}`;
}

/** A markdown table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
