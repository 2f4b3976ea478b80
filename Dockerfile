# approvald: a static, cgo-free binary on a minimal base.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/approvald ./cmd/approvald \
 && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/authenticator ./cmd/authenticator

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
ENV ADDR=0.0.0.0:8080
EXPOSE 8080
USER nonroot
ENTRYPOINT ["/usr/local/bin/approvald"]
