# EditPulse relay + dashboard image.
#   docker build -t editpulse-relay .        (docker-compose.yml does this for you)
# Stage 1 builds the wasm dashboard with trunk and the relay with cargo; the runtime stage is
# debian:bookworm-slim with only the binary, dist/, ca-certificates and curl (healthcheck).

FROM rust:1.95-bookworm AS build
WORKDIR /src

# Tools first, in their own layer: wasm32 target, trunk, wasm-bindgen-cli (the version
# app/Cargo.toml pins), binaryen and brotli, installed by the same script the repo's commands
# use, so versions are written down once.
COPY scripts/setup.sh scripts/setup.sh
COPY app/Cargo.toml app/Cargo.toml
RUN bash -c 'source scripts/setup.sh && need_wasm_tools' \
    && rm -rf /var/lib/apt/lists/* "$CARGO_HOME/registry" "$CARGO_HOME/git"

COPY . .
# Trunk.toml's post_build hook (scripts/precompress.sh) writes the .br and .gz copies the
# relay serves; the build stops here if it did not.
RUN trunk build --release \
    && ls dist/*.wasm.br dist/*.wasm.gz \
    && cargo build --release -p relay \
    && cp target/release/relay /usr/local/bin/relay

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --user-group --uid 10001 --home-dir /var/lib/editpulse \
               --create-home --shell /usr/sbin/nologin editpulse

COPY --from=build /usr/local/bin/relay /usr/local/bin/relay
COPY --from=build /src/dist /app/dist

USER editpulse
WORKDIR /var/lib/editpulse
ENV RELAY_LISTEN=0.0.0.0:3000 \
    RELAY_STATIC_DIR=/app/dist \
    RELAY_STATE_DIR=/var/lib/editpulse
EXPOSE 3000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:3000/v1/health || exit 1
ENTRYPOINT ["/usr/local/bin/relay"]
