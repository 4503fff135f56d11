# kafka-vitals container image: the exporter in a virtualenv on Debian's Python 3.11, and a small
# Java 17 runtime cut from Debian's OpenJDK with jlink (JMX queries run in a short-lived JVM).
# Built and tested by tests/test_container.py.
#
#   podman build --format docker -t kafka-vitals .      (or: docker build -t kafka-vitals .)
#
# Behind a TLS-intercepting proxy, hand the build your CA bundle for the Python package index:
#   --secret id=pip-ca,src=/path/to/ca-bundle.crt
# `--format docker` keeps the HEALTHCHECK (the OCI image format has no field for it).

ARG DEBIAN_IMAGE=docker.io/library/debian:bookworm-slim

# ---- java: the JVM modules a JMX query over RMI needs, with a class-data-sharing archive --------
FROM ${DEBIAN_IMAGE} AS java

RUN mkdir -p /usr/share/man/man1 \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        openjdk-17-jdk-headless binutils \
 && rm -rf /var/lib/apt/lists/*

# binutils: jlink strips native debug symbols with objcopy.
# java.management.rmi + jdk.naming.rmi: `service:jmx:rmi:///jndi/rmi://...` URLs; jdk.attach and
# jdk.management: the query jar's local-process code; jdk.crypto.ec: JMX over TLS.
RUN jlink --add-modules java.base,java.management,java.management.rmi,jdk.naming.rmi,jdk.attach,jdk.management,jdk.crypto.ec \
        --strip-debug --no-header-files --no-man-pages --compress=2 --generate-cds-archive \
        --output /opt/java \
 && /opt/java/bin/java -Xshare:on -version

# ---- build: a virtualenv with kafka-vitals and its dependencies --------------------------------
FROM ${DEBIAN_IMAGE} AS build

ENV DEBIAN_FRONTEND=noninteractive \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Dependencies (and the build backend) first, in their own layer: a change to the code alone
# reuses it, and the second install needs no network.
COPY pyproject.toml ./
RUN --mount=type=secret,id=pip-ca \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi \
 && python3 -m venv /opt/kafka-vitals \
 && mkdir exporter && echo '__version__ = "0"' > exporter/__init__.py && touch README.md \
 && /opt/kafka-vitals/bin/pip install --no-compile 'setuptools>=68' . \
 && /opt/kafka-vitals/bin/pip uninstall -y kafka-vitals \
 && rm -rf exporter build *.egg-info README.md

COPY README.md ./
COPY exporter/ exporter/
COPY bundle/ bundle/
RUN /opt/kafka-vitals/bin/pip install --no-compile --no-deps --no-build-isolation . \
 && /opt/kafka-vitals/bin/pip uninstall -y pip setuptools \
 && /opt/kafka-vitals/bin/python -m compileall -q /opt/kafka-vitals/lib \
 && /opt/kafka-vitals/bin/kafka-vitals --version

# ---- final: runtime packages, the virtualenv, a non-root user ----------------------------------
FROM ${DEBIAN_IMAGE}

ARG VERSION=0.1.0
ARG REVISION=unknown

LABEL org.opencontainers.image.title="kafka-vitals" \
      org.opencontainers.image.description="Prometheus exporter for the Apache Kafka vitals: consumer lag, replication, broker latency, throughput, rebalances" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt/* /var/log/dpkg.log \
 && groupadd --system --gid 65532 kafka-vitals \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin kafka-vitals \
 && mkdir -p /etc/kafka-vitals \
 && printf '%s\n' '# Mount the kafka-vitals configuration here (see docs/deployment.md); every key can' \
        '# also be set by an environment variable KAFKA_VITALS_<SECTION>_<KEY>.' \
        > /etc/kafka-vitals/config.yaml

COPY --from=java /opt/java /opt/java
COPY --from=build /opt/kafka-vitals /opt/kafka-vitals

ENV PATH=/opt/kafka-vitals/bin:/opt/java/bin:$PATH \
    JAVA_HOME=/opt/java \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

USER 65532:65532
EXPOSE 10308

# Asks the exporter's own /healthz on the port of --web.listen-address when the container's
# arguments give it (kafka_exporter's argument lines do), else of KAFKA_VITALS_WEB_LISTEN_ADDRESS,
# else the default 10308.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; a = open('/proc/1/cmdline', 'rb').read().decode(errors='replace').split(chr(0)); f = [x.split('=', 1)[1] if '=' in x else (a[i + 1] if i + 1 < len(a) else '') for i, x in enumerate(a) if x.split('=', 1)[0] == '--web.listen-address']; port = (f[-1] if f else os.environ.get('KAFKA_VITALS_WEB_LISTEN_ADDRESS', ':10308')).rsplit(':', 1)[-1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]

ENTRYPOINT ["kafka-vitals"]
CMD ["serve", "--config", "/etc/kafka-vitals/config.yaml"]
