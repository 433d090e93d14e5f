# waggle's container image: the static waggle binary on distroless, as the
# non-root user (uid 65532). Build it from the repository's root:
#
#   docker build -t waggle:dev .
#
# For several architectures (the Go build cross-compiles, nothing runs
# under emulation):
#
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/waggle:TAG --push .
#
# The build context leaves out .git (.dockerignore), so the binary carries
# no VCS revision: pass --build-arg VERSION=$(git describe --tags --always --dirty)
# to have "waggle version" name it. docs/DEPLOY.md runs the image as a
# Kubernetes DaemonSet (deploy/daemonset.yaml).

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=
ENV CGO_ENABLED=0
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags="-s -w -X main.version=$VERSION" -o /out/waggle ./cmd/waggle

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/waggle /usr/local/bin/waggle
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/waggle"]
CMD ["help"]
