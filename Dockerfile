# syntax=docker/dockerfile:1
# Socle's container image: built in a Rust image, run from a distroless one — no shell, no
# package manager, a non-root user (65532), nothing written outside the data directory
# (/var/lib/socle, a volume) and /tmp, so the root filesystem may be mounted read-only.
#
#   docker build -t socle:0.1.0 .
#   docker run --read-only --tmpfs /tmp -v socle-data:/var/lib/socle -p 7007:7007 socle:0.1.0
#
# Kubernetes manifests for it: deploy/kubernetes (a Kustomize base).

FROM docker.io/library/rust:1.95-bookworm AS build
WORKDIR /src
# The registry and target directories are build caches (BuildKit), not layers.
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
# The golden paths are embedded in the binary.
COPY golden-paths ./golden-paths
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p socle \
 && install -D -m 0755 target/release/socle /out/socle \
 && install -d -o 65532 -g 65532 /out/data

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/socle /usr/local/bin/socle
COPY --from=build --chown=65532:65532 /out/data /var/lib/socle
USER 65532:65532
ENV SOCLE_DATA_DIR=/var/lib/socle \
    SOCLE_LISTEN=0.0.0.0:7007
VOLUME ["/var/lib/socle"]
EXPOSE 7007
ENTRYPOINT ["/usr/local/bin/socle"]
CMD ["serve"]
