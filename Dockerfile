# syntax=docker/dockerfile:1
# mlctl serve in a container: a build stage compiles TypeScript and installs production
# dependencies (native ones built against this image's libc), a slim runtime stage runs as the
# unprivileged `node` user. Models come from the registry in /data/runs (mount it, or
# `mlctl sync pull` into it) or from S3 with MLCTL_S3_BUCKET and the AWS variables.
#
#   docker build -t mlctl .
#   docker run -p 8500:8500 -v "$PWD/runs:/data/runs:ro" mlctl serve --model income@production --host 0.0.0.0

ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# Toolchain for native modules (better-sqlite3) when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY scripts ./scripts
COPY src ./src
# `npm ci` runs `prepare` (npm run build): tsc compiles src/ into dist/, then scripts/bundle.mjs
# writes the bundle bin/mlctl runs and its code cache (made here, at /app, where it runs).
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    MLCTL_RUNS_DIR=/data/runs \
    MLCTL_DATA_DIR=/data/data \
    DATABASE_URL=sqlite:/data/data/mlctl.db
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
RUN mkdir -p /data/runs /data/data && chown -R node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8500
# Liveness through the server's own /health route, with Node's fetch (no curl in the image).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8500/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/bin/mlctl"]
CMD ["serve", "--model", "income@production", "--host", "0.0.0.0", "--port", "8500"]
