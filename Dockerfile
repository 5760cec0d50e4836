# The sctpguard image: the one binary on distroless static, as a non-root user.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t ghcr.io/sctpguard/sctpguard:dev .
#
# The build step is `make build`'s command, character for character (make -n build prints it);
# test/chart's TestDockerfileBuildsWhatMakeBuilds fails when the two differ, so the binary in
# the image is the binary the tests run.
FROM golang:1.26 AS build
WORKDIR /src
ENV GOTOOLCHAIN=local
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/sctpguard ./cmd/sctpguard

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sctpguard /usr/local/bin/sctpguard
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/sctpguard"]
