# The API, run from source with tsx (no build step), as `npm start` does.
FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY migrations ./migrations
EXPOSE 4000
USER node
# node directly (not npm) so SIGTERM reaches the server and its graceful stop.
CMD ["node", "--import", "tsx", "src/main.ts"]
