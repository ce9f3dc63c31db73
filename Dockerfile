# syntax=docker/dockerfile:1.7
# One Dockerfile for every service of the platform, parameterised by build arguments (an image per service, same recipe):
#   docker build --build-arg SERVICE=gateway --build-arg PORT=8080 -t devicesaga/gateway .
#   docker build --build-arg SERVICE=command-service --build-arg PORT=8102 -t devicesaga/command-service .
# SERVICE: a workspace folder with src/main.ts; PORT: the port it listens on in the container (its config's default).
# The service runs compiled (scripts/build.ts) on plain Node 24 as the non-root user `node`:
#   node --conditions=devicesaga-compiled --enable-source-maps dist/main.js   (dist/migrate.js: its migrations only)
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: every workspace's manifest first (npm ci needs them all; this layer is cached until they change) ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.base.json ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/platform/package.json packages/platform/
COPY gateway/package.json gateway/
COPY command-service/package.json command-service/
COPY device-service/package.json device-service/
COPY adapter/package.json adapter/
COPY alarm-service/package.json alarm-service/
COPY notification-service/package.json notification-service/
COPY push-service/package.json push-service/
COPY device-simulator/package.json device-simulator/
COPY dashboard/package.json dashboard/
# no install scripts: Node comes from the base image (the root's `node` devDependency is for machines without it)
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY scripts/build.ts scripts/
COPY packages/ packages/
COPY gateway/ gateway/
COPY command-service/ command-service/
COPY device-service/ device-service/
COPY adapter/ adapter/
COPY alarm-service/ alarm-service/
COPY notification-service/ notification-service/
COPY push-service/ push-service/
COPY device-simulator/ device-simulator/
COPY dashboard/ dashboard/
RUN node_modules/.bin/tsx scripts/build.ts

# ---- production dependencies only ----
FROM build AS deps
RUN rm -rf node_modules && npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: one service's compiled code, the shared packages' dist, production node_modules ----
FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ARG PORT
RUN test -n "${SERVICE}" && test -n "${PORT}" || { echo "build with --build-arg SERVICE=<workspace> --build-arg PORT=<port>" >&2; exit 1; }
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=${PORT} \
    SERVICE=${SERVICE}
WORKDIR /app
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/package.json ./
COPY --from=build /src/packages/contracts/package.json packages/contracts/
COPY --from=build /src/packages/contracts/dist packages/contracts/dist
COPY --from=build /src/packages/platform/package.json packages/platform/
COPY --from=build /src/packages/platform/dist packages/platform/dist
COPY --from=build /src/${SERVICE}/package.json ${SERVICE}/
COPY --from=build /src/${SERVICE}/dist ${SERVICE}/dist
# the gateway serves the dashboard (STATIC_DIR defaults to <gateway>/../dashboard/public); a few kB elsewhere
COPY --from=build /src/dashboard/public dashboard/public
WORKDIR /app/${SERVICE}
USER node
EXPOSE ${PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--conditions=devicesaga-compiled", "--enable-source-maps", "dist/main.js"]
