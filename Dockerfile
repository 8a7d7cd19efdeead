# fauna-sync as an Airbyte source connector image (docs/airbyte.md).
#   docker build -t airbyte/source-fauna-sync:0.1.0 .
#   docker run --rm airbyte/source-fauna-sync:0.1.0 spec
# tests/airbyte/test_dockerfile.py runs this file's entrypoint command against the built binary.

FROM rust:1.89-bookworm AS build
WORKDIR /src
COPY . .
# The connector's build: without the demo's in-process fauna-dev and without the object-store
# clients (--no-default-features: an Airbyte source writes to stdout, never to a bucket),
# stripped (profile.release).
RUN cargo build --release --locked --no-default-features -p fauna-sync --bin fauna-sync

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 1000 --create-home airbyte
COPY --from=build /src/target/release/fauna-sync /usr/local/bin/fauna-sync
USER airbyte
WORKDIR /airbyte

ENV AIRBYTE_ENTRYPOINT="/usr/local/bin/fauna-sync"
ENTRYPOINT ["/usr/local/bin/fauna-sync"]

LABEL io.airbyte.name="airbyte/source-fauna-sync"
LABEL io.airbyte.version="0.1.0"
