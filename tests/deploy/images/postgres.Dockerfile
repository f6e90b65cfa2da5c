# A stand-in for docker.io/library/postgres:15-bookworm, which CI cannot pull: Debian's
# PostgreSQL 15 on the same Debian base, answering to the part of the official image's
# interface that deploy/compose.yaml uses (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB,
# the data volume, pg_isready). Tagged with the official name in the test's private storage.
FROM docker.io/library/debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o postgres -g postgres /var/lib/postgresql/data /var/run/postgresql
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/
USER postgres
STOPSIGNAL SIGINT
ENTRYPOINT ["postgres-entrypoint.sh"]
