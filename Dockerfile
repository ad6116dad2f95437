# ingress2nginx sidecar image.
#
# Built FROM the official nginx image, pinned, so that `nginx -t` in the sidecar runs the very
# binary and modules of the nginx container beside it (use this same image for both). The image
# runs as the nginx user (uid 101), needs no writable root filesystem (everything it writes
# goes to the emptyDir mounted at /run/ingress2nginx and to /tmp), and its entrypoint is the
# ingress2nginx command; the nginx container overrides the command (see
# samples/kubernetes/deployment.yaml). The pin is nginx's newest stable release, 1.30.7 on Debian
# trixie (1.27.3 or later is what dns mode needs: docs/deploy.md says how to bump it).
ARG NGINX_IMAGE=nginx:1.30.7-trixie

FROM ${NGINX_IMAGE} AS build
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY ingress2nginx ./ingress2nginx
COPY templates ./templates
RUN python3 -m venv /opt/ingress2nginx \
    && /opt/ingress2nginx/bin/pip install --no-cache-dir /src

FROM ${NGINX_IMAGE}
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o 101 -g 101 -m 0755 /run/ingress2nginx
COPY --from=build /opt/ingress2nginx /opt/ingress2nginx
ENV PATH="/opt/ingress2nginx/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 101:101
WORKDIR /run/ingress2nginx
EXPOSE 8080 8443 10254
ENTRYPOINT ["ingress2nginx"]
CMD ["--help"]
