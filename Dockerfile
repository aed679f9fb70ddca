# Understudy node image: the static binary and nothing else.
#
# There is no registry to pull a base image from, so the image is FROM scratch
# and the binary is built on the host (CGO_ENABLED=0, so fully static). Build
# it with scripts/image.sh, which compiles bin/understudy and sends docker a
# context holding only this file, the binary and two empty directories:
#
#   context/
#     Dockerfile
#     understudy       CGO_ENABLED=0 go build -trimpath ./cmd/understudy
#     rootfs/data/     empty, the volume mount point
#     rootfs/tmp/      empty, mode 1777 (os.TempDir)
#
# The image has no shell: the healthcheck (in cluster-compose.yml) and any
# admin command run the binary itself, e.g.
#   docker exec <container> /understudy status --admin 127.0.0.1:9181
FROM scratch

# Owned by the unprivileged user below: Docker copies this directory's
# ownership into a named volume when it is first mounted at /data.
COPY --chown=65532:65532 rootfs/ /
COPY understudy /understudy

USER 65532:65532
# Listen on every interface by default; cluster-compose.yml sets the ports and
# the advertised addresses of each node (see the notes there).
ENV UNDERSTUDY_DATA_DIR=/data \
    UNDERSTUDY_RAFT_ADDR=0.0.0.0:7381 \
    UNDERSTUDY_CLIENT_ADDR=0.0.0.0:6379 \
    UNDERSTUDY_ADMIN_ADDR=0.0.0.0:9181
VOLUME ["/data"]
# SIGTERM is a graceful stop: a leader hands leadership over first.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/understudy"]
CMD ["serve"]
