# datawatch image: built from Debian 12 packages, runs as a non-root user.
#   docker build -t datawatch:0.1.0 .
#   docker run --rm -p 9464:9464 -v $PWD/datawatch.yaml:/etc/datawatch/datawatch.yaml:ro datawatch:0.1.0

# --- build: the same packages and flags as scripts/install-deps.sh (which brings
# unixodbc-dev for the ODBC source), Release, no tests
FROM debian:12-slim AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
# Warnings are not errors here (as in scripts/demo.sh): CI compiles with clang,
# so a warning only g++ gives must not break an image build.
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DDATAWATCH_BUILD_TESTS=OFF \
      -DDATAWATCH_BUILD_BENCH=OFF -DDATAWATCH_WERROR=OFF \
 && cmake --build build -j"$(nproc)" --target datawatch \
 && strip build/agent/datawatch

# --- runtime: only the shared libraries the binary links, CA certificates, time zones,
# and the ODBC driver manager (unixODBC: libodbc2, plus isql/odbcinst from unixodbc)
# with the two open-source drivers Debian ships: psqlODBC (odbc-postgresql,
# "PostgreSQL Unicode") and MariaDB Connector/ODBC (odbc-mariadb, "MariaDB Unicode"),
# both registered in /etc/odbcinst.ini by their packages (psqlODBC's CommLog, on
# in Debian's entry, is turned off: it writes a log file per process to /tmp).
# Vendor drivers (Snowflake,
# SQL Server, ...) go in a derived image: docs/warehouses.md.
FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates tzdata libboost-program-options1.74.0 libcpp-httplib0.11 libcurl4 \
      libfmt9 libpq5 libpqxx-6.4 librdkafka1 libspdlog1.10 libsqlite3-0 \
      libssl3 libyaml-cpp0.7 libodbc2 unixodbc odbc-postgresql odbc-mariadb \
 && rm -rf /var/lib/apt/lists/* \
 && sed -i 's/^CommLog=1/CommLog=0/' /etc/odbcinst.ini \
 && groupadd --gid 65532 datawatch \
 && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /var/lib/datawatch \
      --shell /usr/sbin/nologin datawatch \
 && mkdir -p /etc/datawatch /var/lib/datawatch \
 && chown 65532:65532 /var/lib/datawatch
COPY --from=build /src/build/agent/datawatch /usr/local/bin/datawatch
USER 65532:65532
WORKDIR /var/lib/datawatch
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/datawatch"]
CMD ["run", "-c", "/etc/datawatch"]
