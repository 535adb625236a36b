# banyan-backup's container image: a static binary on an empty base, run as
# the non-root user 65532. Built by scripts/image.sh (docker, podman or
# buildah), which passes the version, commit and date in; the binary is
# built by scripts/build.sh, as outside the image.
#
# The build stage is pinned by tag: pass --build-arg GO_IMAGE=…@sha256:…
# to pin it by digest. The final stage is scratch: nothing to pin, nothing
# but the binary, CA certificates (object stores over TLS), time zones
# (source.server_time_zone, time_zone) and the user's entries.
ARG GO_IMAGE=docker.io/library/golang:1.26.8-bookworm

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
RUN VERSION="$VERSION" COMMIT="$COMMIT" BUILD_DATE="$BUILD_DATE" scripts/build.sh /out/usr/local/bin/banyan-backup \
	&& mkdir -p /out/etc /out/home/nonroot /out/tmp \
	&& echo 'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >/out/etc/passwd \
	&& echo 'nonroot:x:65532:' >/out/etc/group \
	&& chown 65532:65532 /out/home/nonroot && chmod 1777 /out/tmp

FROM scratch
LABEL io.github.banyan-backup.image="ghcr.io/banyan-backup/banyan-backup" \
	org.opencontainers.image.title="banyan-backup" \
	org.opencontainers.image.description="Backup and restore for Apache SkyWalking BanyanDB"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /usr/share/zoneinfo /usr/share/zoneinfo
COPY --from=build /out/ /
ENV HOME=/home/nonroot
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/banyan-backup"]
CMD ["--help"]
