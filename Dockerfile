FROM denoland/deno:2.9.6

WORKDIR /app
RUN chown deno:deno /app
USER deno

COPY --chown=deno:deno deno.json deno.lock ./
RUN deno install --frozen

COPY --chown=deno:deno src ./src
COPY --chown=deno:deno migrations ./migrations
COPY --chown=deno:deno policies ./policies
RUN deno cache src/worker.ts src/cli/migrate.ts
# The worker loads this prebuilt workflow bundle and runs no webpack.
RUN deno run --quiet -P=bundle src/cli/bundle.ts

CMD ["deno", "run", "-P=worker", "src/worker.ts"]
