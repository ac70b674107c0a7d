/** The results table: printed, written next to latest.json, and (with --update-docs) into docs/PERFORMANCE.md. */
import { readFileSync, writeFileSync } from "node:fs";
import type { TargetRow } from "./context.js";

const verdict = (pass: TargetRow["pass"]) => (pass === "info" ? "—" : pass === null ? "no proof" : pass ? "pass" : "**miss**");

export function markdownTable(rows: readonly TargetRow[]): string {
  const lines = ["| target | measured | limit | result |", "|---|---|---|---|"];
  for (const r of rows) lines.push(`| ${r.target} | ${r.measured} | ${r.limit} | ${verdict(r.pass)} |`);
  return lines.join("\n");
}

const BEGIN = "<!-- bench:table:begin -->";
const END = "<!-- bench:table:end -->";

/** Replaces what lies between the markers in the doc, so the method text around it stays hand-written. */
export function updateDoc(file: string, section: string): void {
  const doc = readFileSync(file, "utf8");
  const from = doc.indexOf(BEGIN);
  const to = doc.indexOf(END);
  if (from < 0 || to < from) throw new Error(`${file} has no ${BEGIN} … ${END} section`);
  writeFileSync(file, `${doc.slice(0, from + BEGIN.length)}\n${section}\n${doc.slice(to)}`);
}
