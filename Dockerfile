# syntax=docker/dockerfile:1
#
# Two images from one build:
#
#   docker build --target auth-service     -t auth-service .
#   docker build --target resource-service -t resource-service .
#
# docker-compose.yml builds both. The cache mounts below need BuildKit (the
# default builder since Docker 23): the crates.io downloads and the target/
# folder survive between builds, so a change to the sources rebuilds only the
# workspace's own crates, not every dependency.

# ---- build: both release binaries --------------------------------------------
FROM rust:1-bookworm AS build
# The auth-service links the system libpq (Diesel's PostgreSQL backend);
# SQLite is compiled in (libsqlite3-sys "bundled").
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY shared-claims shared-claims
COPY service-kit service-kit
COPY auth-service auth-service
COPY resource-service resource-service
# The SQL migrations and the web client's files are embedded into the
# auth-service binary at compile time.
COPY migrations migrations
COPY web/index.html web/app.js web/auth-client.js web/style.css web/
# target/ lives in a cache mount, which is not part of the image: copy the
# binaries out of it in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --bin auth-service --bin resource-service \
 && mkdir -p /out \
 && cp target/release/auth-service target/release/resource-service /out/

# ---- auth-service -------------------------------------------------------------
FROM debian:bookworm-slim AS auth-service
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app \
 && mkdir /data \
 && chown app:app /data
COPY --from=build /out/auth-service /usr/local/bin/auth-service
# Inside a container 127.0.0.1 cannot be reached from outside: listen on every
# interface. Without a DATABASE_URL the data lives in SQLite on the /data
# volume; docker-compose.yml points it at PostgreSQL instead. Secrets (a
# PostgreSQL password) are never baked in here: pass them at run time.
ENV AUTH_BIND=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///data/auth.db \
    RUST_LOG=info
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8080
# No curl in the slim image: bash opens the TCP connection itself
# (/dev/tcp) and reads the status line of GET /readyz (200 once the database
# answers). The port follows AUTH_BIND.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${AUTH_BIND##*:} && printf 'GET /readyz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && read -r -t 5 status <&3 && [[ $status == *' 200 '* ]]"]
ENTRYPOINT ["/usr/local/bin/auth-service"]
CMD ["serve"]

# ---- resource-service ---------------------------------------------------------
FROM debian:bookworm-slim AS resource-service
# ca-certificates: the JWKS may be fetched over https.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app
COPY --from=build /out/resource-service /usr/local/bin/resource-service
ENV RESOURCE_BIND=0.0.0.0:8081 \
    RUST_LOG=info
USER 10001:10001
EXPOSE 8081
# GET /readyz answers 200 once the auth-service's keys are held.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${RESOURCE_BIND##*:} && printf 'GET /readyz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && read -r -t 5 status <&3 && [[ $status == *' 200 '* ]]"]
ENTRYPOINT ["/usr/local/bin/resource-service"]
