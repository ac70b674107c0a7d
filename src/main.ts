#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { sha256 } from "./auth/registry.js";
import { CONFIG_ENV, ConfigError, loadConfigFile } from "./config/load.js";
import { startDemo } from "./demo/demo.js";
import { createLogger } from "./log/logger.js";
import { startGateway } from "./server/server.js";

const USAGE = `Usage:
  dify-grpc-gateway [--config FILE]       serve (FILE or $${CONFIG_ENV}); with neither, a demo on the embedded Dify simulator
  dify-grpc-gateway --listen HOST:PORT    demo only: where to listen (default 127.0.0.1:50051)
  dify-grpc-gateway hash-token            read a token on stdin, print its SHA-256 for the config
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: "string" }, listen: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [command] = positionals;
  if (command === "hash-token") return hashToken();
  if (command !== undefined) {
    process.stderr.write(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
    return 2;
  }

  const configFile = values.config ?? process.env[CONFIG_ENV];
  if (configFile) {
    const config = loadConfigFile(configFile);
    const log = createLogger(config.log.level);
    const gateway = await startGateway(config, log);
    onSignals(() => gateway.close());
  } else {
    const log = createLogger("info");
    const demo = await startDemo(values.listen ?? "127.0.0.1:50051", log);
    onSignals(() => demo.close());
  }
  return -1;
}

function hashToken(): number {
  const token = readFileSync(0, "utf8").trim();
  if (token === "") {
    process.stderr.write("hash-token: no token on stdin\n");
    return 2;
  }
  process.stdout.write(`${sha256(token).toString("hex")}\n`);
  return 0;
}

function onSignals(close: () => Promise<void>): void {
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `fatal: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
