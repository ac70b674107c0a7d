# syntax=docker/dockerfile:1
#
# dify-grpc-gateway container image.
#
#   docker build -t dify-grpc-gateway:0.1.0 .
#   docker run --rm -p 50051:50051 -p 9464:9464 \
#     -v "$PWD/gateway.yaml:/etc/dify-grpc-gateway/gateway.yaml:ro" -e ACME_SUPPORT_BOT_KEY \
#     dify-grpc-gateway:0.1.0
#   docker run --rm -i dify-grpc-gateway:0.1.0 hash-token < token.txt      # -i: hash-token reads stdin
#   docker run --rm -v "$PWD/gateway.yaml:/etc/dify-grpc-gateway/gateway.yaml:ro" -e ACME_SUPPORT_BOT_KEY \
#     dify-grpc-gateway:0.1.0 check-config                                  # validate the file the image reads
#   docker run --rm dify-grpc-gateway:0.1.0 --version
#
# No demo in the image: the build stage copies no simulator/, so there is no dist/simulator/, and demo
# mode (no --config, DIFY_GATEWAY_CONFIG empty) prints "demo mode needs the simulator…" and exits 2.
# Run the demo from a checkout instead: npm ci && npm start. The image points DIFY_GATEWAY_CONFIG at the
# path where deploy/kubernetes/ mounts the ConfigMap, so serving and check-config read that file (mount yours
# there, as above, or pass --config). No HEALTHCHECK: Kubernetes' native gRPC probes (grpc.health.v1 on
# port 50051) do that job.

# Node 22, an LTS supported until April 2027 (Node 20 reached end of life in April 2026). The code
# keeps working on Node 20 (engines: >=20.18.1), which CI and the tests run on.
ARG NODE_IMAGE=node:22-bookworm-slim

# --- build: full dependencies, TypeScript → dist/ ---------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY generated ./generated
# tsc, then one plain esbuild bundle of the gateway over dist/src/gateway.js (scripts/bundle.mjs says why).
COPY scripts/bundle.mjs ./scripts/
RUN npm run build

# --- deps: production dependencies only --------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime -----------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# MALLOC_ARENA_MAX=2: glibc gives each thread that allocates (V8's compiler and GC workers, libuv's pool) an arena
# of its own and keeps freed memory in it; V8 optimising undici's HTTP parser on a worker thread at start-up
# peaks at ~40 MiB there. Two arenas: idle RSS 77.5 -> 74.9 MiB median, 10 interleaved starts each (measured
# with `node dist/src/main.js`, as the bench starts it; docs/PERFORMANCE.md, "Idle RSS, fifth pass").
# jemalloc (libjemalloc2 via LD_PRELOAD) and glibc's trim/mmap thresholds were measured against this and not kept:
# none lowered the slow-reader peak or memory per stream (docs/PERFORMANCE.md, "Allocator, 2026-12-06").
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    DIFY_GATEWAY_CONFIG=/etc/dify-grpc-gateway/gateway.yaml
RUN groupadd --system --gid 10001 gateway \
 && useradd --system --uid 10001 --gid gateway --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin gateway
WORKDIR /app
# Everything stays owned by root and read-only to the gateway user.
# src/paths.ts finds the package root by looking for package.json above dist/src/, and reads the
# descriptor sets that server reflection serves from <root>/generated/*.binpb.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/generated/*.binpb ./generated/
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
# 50051: gRPC (h2c) with grpc.health.v1; 9464: Prometheus /metrics.
EXPOSE 50051 9464
# Exec form: node is PID 1 and receives SIGTERM (drain) and SIGHUP (config reload) itself.
# dist/src/main.js catches SIGHUP, then loads the bundled gateway (dist/src/gateway.js); node_modules still
# serves `yaml`, grpc-health-check and @grpc/reflection, which stay outside the bundle.
ENTRYPOINT ["node", "dist/src/main.js"]
