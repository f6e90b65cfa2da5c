# A stand-in for docker.io/library/redis:7-bookworm, which CI cannot pull: Debian's Redis 7
# on the same Debian base. Like the official image, `redis-server ...` without a config file
# runs with protected mode off, so that the other containers may connect; other commands
# (redis-cli) run as they are.
FROM docker.io/library/debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server redis-tools \
 && rm -rf /var/lib/apt/lists/*
USER redis
WORKDIR /var/lib/redis
ENTRYPOINT ["sh", "-c", "if [ \"$1\" = redis-server ]; then exec \"$@\" --protected-mode no; else exec \"$@\"; fi", "redis"]
CMD ["redis-server"]
