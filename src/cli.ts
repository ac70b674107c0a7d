import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { sha256 } from "./auth/registry.js";
import { argumentError, ensurePortFree, OperatorError } from "./cli-errors.js";
import { CONFIG_ENV, ConfigError, loadConfigFile } from "./config/load.js";
import { hostPortProblem } from "./config/schema.js";
import { summarize } from "./config/summary.js";
import { DifyClient } from "./dify/client.js";
import { formatProbe, probeConfig } from "./doctor/probe.js";
import { processLog } from "./log/logger.js";
import { startGateway } from "./server/server.js";
import { onSighup } from "./sighup.js";
import { VERSION } from "./version.js";
import { startupDone } from "./young-generation.js";

const USAGE = `Usage:
  dify-grpc-gateway [--config FILE]       serve (FILE or $${CONFIG_ENV}); with neither, a demo on the embedded Dify simulator
  dify-grpc-gateway --listen HOST:PORT    demo only: where to listen (default 127.0.0.1:50051)
      --simulator-port N --metrics-port N demo only: pin the embedded Dify's and /metrics' ports (default: any free port)
  dify-grpc-gateway check-config [FILE]   validate a config (and the secrets it points to), print a redacted summary
      --probe                             also ask each app's Dify (GET /info): key, base URL, mode; exit 1 on any problem
  dify-grpc-gateway hash-token            read a token on stdin, print its SHA-256 for the config
  dify-grpc-gateway --version             print the version

Signals: SIGHUP re-reads the config file; SIGTERM and SIGINT shut down.
`;

// `npm start | head` closes our stdout: a server must outlive its log reader. pino drops its own writes on
// EPIPE; this covers direct writes (the demo banner, which crashed the process before).
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") throw err;
});

/** Shorter tokens are guessable; the hash only protects a token that has entropy of its own. */
const MIN_TOKEN_LENGTH = 24;

const OPTIONS = {
  config: { type: "string" },
  listen: { type: "string" },
  "simulator-port": { type: "string" },
  "metrics-port": { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
  probe: { type: "boolean" },
} as const;

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (err) {
    throw argumentError(err, Object.keys(OPTIONS));
  }
}

function demoPort(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new OperatorError(`--${flag} must be a port number (0-65535), got '${value}'`, 2);
  return port;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`dify-grpc-gateway ${VERSION} (node ${process.version})\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  const configFile = values.config ?? process.env[CONFIG_ENV];
  switch (command) {
    case "hash-token":
      return hashToken();
    case "check-config":
      return checkConfig(rest[0] ?? configFile, values.probe === true);
    case undefined:
      break;
    default:
      throw new OperatorError(`unknown command '${command}'`, 2, true);
  }

  if (values.probe) throw new OperatorError("--probe goes with check-config", 2, true);
  if (configFile) {
    for (const [flag, key] of [
      ["listen", "server.listen"],
      ["metrics-port", "metrics.listen"],
      ["simulator-port", "workspaces[].difyBaseUrl"],
    ] as const)
      if (values[flag] !== undefined) throw new OperatorError(`--${flag} is for the demo only; with a config file, set ${key}`, 2);
    await serve(configFile);
  } else {
    const { log, exit } = processLog("info", "auto");
    exitProcess = exit;
    const listen = values.listen ?? "127.0.0.1:50051";
    const listenProblem = hostPortProblem(listen);
    if (listenProblem) throw new OperatorError(`--listen ${listenProblem.replace("0.0.0.0", "127.0.0.1")}, got '${listen}'`, 2);
    const ports = {
      simulatorPort: demoPort("simulator-port", values["simulator-port"]),
      metricsPort: demoPort("metrics-port", values["metrics-port"]),
    };
    await ensurePortFree(listen, "--listen");
    if (ports.metricsPort) await ensurePortFree(`127.0.0.1:${ports.metricsPort}`, "--metrics-port");
    if (ports.simulatorPort) await ensurePortFree(`127.0.0.1:${ports.simulatorPort}`, "--simulator-port");
    // Imported here: the demo's simulator is not part of a production start.
    const { startDemo } = await import("./demo/demo.js");
    const demo = await startDemo(listen, log, ports);
    onSighup(() => log.warn("SIGHUP ignored: the demo has no config file to re-read"));
    onShutdown(() => demo.close());
    startupDone();
  }
  return -1;
}

async function serve(configFile: string): Promise<void> {
  const config = loadConfigFile(configFile);
  await ensurePortFree(config.server.listen, `server.listen in ${configFile}`);
  if (config.metrics.enabled) await ensurePortFree(config.metrics.listen, `metrics.listen in ${configFile}`);
  const { log, exit, onDrop } = processLog(config.log.level, config.log.format);
  exitProcess = exit;
  const gateway = await startGateway(config, log, { probeDify: true });
  onDrop(() => gateway.metrics.logLinesDropped.inc());
  // The start-up check of each app's Dify loads undici's parser and TLS on first use: still start-up.
  void gateway.difyChecked.finally(startupDone);
  onSighup(() => {
    try {
      const next = loadConfigFile(configFile);
      const restartRequired = gateway.reload(next);
      gateway.metrics.configReloads.inc();
      log.info({ file: configFile, workspaces: next.workspaces.length }, "config reloaded");
      if (restartRequired.length > 0) log.warn({ fields: restartRequired }, "config reload: these changes apply only after a restart");
    } catch (err) {
      // The old config stays in force; the problems name fields, never secret values.
      gateway.metrics.configReloadFailures.inc();
      const problems = err instanceof ConfigError ? err.problems : [String(err)];
      log.error({ file: configFile, problems }, "config reload rejected; the running config stays in force");
    }
  });
  onShutdown(() => gateway.close());
}

async function checkConfig(file: string | undefined, probe: boolean): Promise<number> {
  if (!file) {
    process.stderr.write(`check-config: name a config file\n${USAGE}`);
    return 2;
  }
  const config = loadConfigFile(file);
  process.stdout.write(summarize(config, file));
  if (!probe) return 0;
  const client = new DifyClient({ connectTimeoutMs: config.upstream.connectTimeoutMs });
  try {
    const probes = await probeConfig(config, client, config.upstream.connectTimeoutMs);
    process.stdout.write(probes.map((p) => `${formatProbe(p)}\n`).join(""));
    return probes.every((p) => p.problem === undefined) ? 0 : 1;
  } finally {
    await client.close();
  }
}

function hashToken(): number {
  const token = readFileSync(0, "utf8").trim();
  if (token === "") {
    process.stderr.write("hash-token: no token on stdin\n");
    return 2;
  }
  if (token.length < MIN_TOKEN_LENGTH)
    process.stderr.write(
      `hash-token: warning: a token shorter than ${MIN_TOKEN_LENGTH} characters can be guessed; try: openssl rand -base64 32\n`,
    );
  process.stdout.write(`${sha256(token).toString("hex")}\n`);
  return 0;
}

/** Every exit once a logger writes to stdout goes through it, so its last lines are out first (`ProcessLog.exit`). */
let exitProcess = (code: number): void => process.exit(code);

/** The first SIGTERM or SIGINT drains gracefully; a second one exits at once. */
function onShutdown(close: () => Promise<void>): void {
  let closing = false;
  const stop = (signal: NodeJS.Signals) => {
    if (closing) {
      process.stderr.write(`${signal} again: exiting without waiting for calls in flight\n`);
      exitProcess(1);
      return;
    }
    closing = true;
    close().then(
      () => exitProcess(0),
      () => exitProcess(1),
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) exitProcess(code);
  },
  (err: unknown) => {
    if (err instanceof OperatorError) {
      process.stderr.write(`error: ${err.message}\n${err.showUsage ? USAGE : ""}`);
      process.exit(err.exitCode);
    }
    // A bug, not an operator's mistake: the stack is what a maintainer needs.
    process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `fatal: ${(err as Error).stack ?? String(err)}\n`);
    exitProcess(1);
  },
);
