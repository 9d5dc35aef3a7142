# syntax=docker/dockerfile:1
#
# One image for every Muster service. Pick the service with the working directory
# and the command:
#   docker run -w /app/services/scim-ingress muster:dev node --import tsx src/main.ts
# which is what `npm run start -w services/scim-ingress` runs (tsx src/main.ts), without
# npm in between: npm exits on SIGTERM without waiting for the service, so the service
# would never shut down cleanly. docker-compose.yml and deploy/ run services this way.
# (`npm run start -w services/<name>` works too, e.g. for a quick try.)
#
# Services run TypeScript directly through `tsx` (no build step), so the runtime
# image carries the sources and node_modules including `tsx`. `tsx` is a root
# devDependency today, which is why `npm ci` below installs dev dependencies; once
# `tsx` moves to root `dependencies`, switch to `npm ci --omit=dev` for a smaller image.

ARG NODE_IMAGE=node:20-bookworm-slim
# Matches "packageManager" in package.json.
ARG NPM_VERSION=11.19.1
# `ci` (reproducible, the default) or `install`: the fallback for while `npm ci`
# rejects package-lock.json (see deploy/README.md, "Known issue: npm ci").
ARG NPM_INSTALL=install

# ---------------------------------------------------------------------------
# manifests: only the package.json files + lockfile, so the dependency layer
# below is rebuilt only when dependencies change, not on every source edit.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY package.json package-lock.json ./
COPY libs ./libs
COPY services ./services
COPY cli ./cli
RUN set -eu; mkdir -p /manifests; \
    for f in package.json package-lock.json libs/*/package.json services/*/package.json cli/package.json; do \
      [ -f "$f" ] || continue; \
      mkdir -p "/manifests/$(dirname "$f")"; cp "$f" "/manifests/$f"; \
    done

# ---------------------------------------------------------------------------
# deps: npm ci with workspaces (creates node_modules/@muster/* links to libs/*,
# services/*, cli).
FROM ${NODE_IMAGE} AS deps
ARG NPM_VERSION
ARG NPM_INSTALL
WORKDIR /app
RUN npm install -g "npm@${NPM_VERSION}" --no-audit --no-fund
COPY --from=manifests /manifests/ ./
# npm ci: exactly package-lock.json, all workspaces.
RUN --mount=type=cache,target=/root/.npm \
    case "${NPM_INSTALL}" in ci|install) ;; *) echo "NPM_INSTALL must be ci or install" >&2; exit 2;; esac; \
    npm "${NPM_INSTALL}" --include=dev --no-audit --no-fund --ignore-scripts

# ---------------------------------------------------------------------------
# runtime
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: passes SIGTERM on to the service and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false \
    NPM_CONFIG_CACHE=/tmp/.npm \
    HOST=0.0.0.0
WORKDIR /app
# node_modules (and any nested workspace node_modules) from the deps stage ...
COPY --from=deps --chown=node:node /app ./
# ... then the sources. .dockerignore keeps node_modules, tests, data and git out.
COPY --chown=node:node package.json package-lock.json tsconfig.base.json ./
COPY --chown=node:node libs ./libs
COPY --chown=node:node services ./services
COPY --chown=node:node cli ./cli
# the admin console (services/admin-ui) built into services/admin-ui/dist, which admin-api serves at /
# (the deps stage skipped the root postinstall that builds it: the sources were not there yet)
RUN npm run build -w @muster/admin-ui && chown -R node:node services/admin-ui/dist
# The official node image ships an unprivileged "node" user (uid/gid 1000).
USER node
EXPOSE 8081 8082 8083 8084
ENTRYPOINT ["/usr/bin/tini", "--"]
# No default service: say which one to run.
CMD ["sh", "-c", "echo 'muster image: pick a service, e.g. docker run -w /app/services/scim-ingress muster:dev node --import tsx src/main.ts' >&2; exit 64"]
