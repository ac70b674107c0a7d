// Plots the memory case's cost growth from a bench result: `npm run bench:plot [-- RESULT.json [OUT.png]]`
// (defaults: bench/results/latest.json, docs/img/cost-growth.png). Left: the gateway's RSS above idle against
// open streams (log-log: linear growth is a line of slope 1), with the 64 KiB-per-stream goal; right: CPU per relayed event. gnuplot draws it (Debian's
// gnuplot-nox, installed by `npm run bench:plot` through scripts/system-deps.sh); the data goes to it on stdin.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

const root = new URL("../", import.meta.url).pathname;
const [input = `${root}bench/results/latest.json`, output = `${root}docs/img/cost-growth.png`] = process.argv.slice(2);
const result = JSON.parse(readFileSync(input, "utf8"));
const points = result.cases?.memory?.points;
if (!Array.isArray(points) || points.length < 2)
  throw new Error(`${input}: no memory case with two or more points (npm run bench -- --only memory)`);

const rows = points
  .map((p) => `${p.streams} ${(p.rssMiB - p.rssBeforeMiB).toFixed(1)} ${p.cpuUsPerEvent} ${p.eventsPerSecPerStream}`)
  .join("\n");

const script = `
set terminal pngcairo size 1100,420 font "sans,10"
set output "${output}"
set datafile separator whitespace
set multiplot layout 1,2 title "Gateway cost growth (${result.date.slice(0, 16)}Z; ${result.machine.replace(/"/g, "")})" font ",9"
set logscale x
set xrange [50:20000]
set xlabel "open streams (readers keeping up)"
set grid
set key top left
set logscale y
set ylabel "RSS above idle (MiB, log)"
plot "-" using 1:2 with linespoints pt 7 lw 2 title "measured (label: events/s per stream)", \\
     "-" using 1:2:(sprintf("%g/s", $4)) with labels offset 0,1 notitle, \\
     x*64/1024 with lines dt 2 lw 1 title "goal: 64 KiB per stream"
${rows}
e
${rows}
e
unset logscale y
set ylabel "gateway CPU per relayed event (µs)"
set yrange [0:*]
plot "-" using 1:3 with linespoints pt 7 lw 2 title "measured"
${rows}
e
unset multiplot
`;

const run = spawnSync("gnuplot", [], { input: script, encoding: "utf8" });
if (run.error || run.status !== 0) throw new Error(`gnuplot failed: ${run.error?.message ?? run.stderr}`);
process.stdout.write(`${output}\n`);
