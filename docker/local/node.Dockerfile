# cyber-local-node: the Node.js base of the service images where no registry is reachable (the stand-in for
# node:20-bookworm-slim). The Debian base plus the host's Node.js binary and npm, copied in by
# docker/build-local-bases.sh with the host's CA certificates: Debian 12's own nodejs package is 18, too old for the services (>= 20.19).
ARG DEBIAN_BASE=debian:bookworm-slim
FROM ${DEBIAN_BASE}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
# The host's trust store (which may hold a proxy's CA), so npm and pnpm reach the registry as the host does.
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
    && node --version && npm --version
CMD ["node"]
