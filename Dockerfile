# The API, compiled: a build stage with the dev dependencies runs `npm run build` (type check,
# then src/ and migrations/ to dist/ with the Lua scripts and the dashboard's files), and the
# final image holds only dist/ and the production dependencies: no tsx, no TypeScript.
#   docker build -t lms-progress-api .
# test/build.test.ts runs these same stages without Docker; keep the commands in step.

FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY migrations ./migrations
RUN npm run build

FROM node:20-slim AS production
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
EXPOSE 4000
USER node
# /ready is 200 only when Redis and Postgres answer and the write-behind keeps up. The slim
# image has no curl: node's own fetch asks.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node directly (not npm) so SIGTERM reaches the server and its graceful stop. Tokens:
# `docker compose exec app node dist/cli/token.js <learnerId>`.
CMD ["node", "dist/main.js"]
