FROM denoland/deno:2.9.6

WORKDIR /app
RUN chown deno:deno /app
USER deno

COPY --chown=deno:deno deno.json deno.lock ./
RUN deno install --frozen

COPY --chown=deno:deno src ./src
COPY --chown=deno:deno migrations ./migrations
COPY --chown=deno:deno policies ./policies
# The API serves these as MCP resources (src/server/main.ts).
COPY --chown=deno:deno examples/directives ./examples/directives
# Every entry point docker-compose.yml runs: the worker, migrate, the API
# launcher and its server, and the containers' healthcheck.
RUN deno cache src/worker.ts src/cli/migrate.ts src/server/launch.ts src/server/main.ts \
  src/cli/healthcheck.ts
# The worker loads this prebuilt workflow bundle and runs no webpack.
RUN deno run --quiet -P=bundle src/cli/bundle.ts
# Made here, as deno, so the `artifacts` volume mounted on it starts owned by deno.
RUN mkdir -p .data/artifacts

# The worker task's allocator and V8 settings (deno.json; docs/architecture.md).
ENV MALLOC_ARENA_MAX=2
CMD ["deno", "run", "-P=worker", "--v8-flags=--max-semi-space-size=1,--optimize-for-size", "src/worker.ts"]
