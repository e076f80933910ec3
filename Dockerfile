# One image for every Burrow command: `relay` by default, `agent ...` when the command is given.
#   docker build -t burrow:dev .
#   docker run --rm burrow:dev --help
# docs/operations.md explains the image and the Helm chart that runs it (deploy/helm/burrow-relay).

# ---- build: exactly the ./burrow launcher's build command ----
FROM maven:3.9-eclipse-temurin-21 AS build
WORKDIR /src
COPY . .
# The cache mount keeps ~/.m2 between builds (BuildKit); the command is the launcher's, unchanged.
RUN --mount=type=cache,target=/root/.m2 mvn -B -q -DskipTests package -pl cli -am

# ---- runtime: a JRE and the one jar ----
FROM eclipse-temurin:21-jre
# Numeric, so Kubernetes' runAsNonRoot can verify it; 65532 is the usual "nonroot" id and the
# chart's runAsUser/runAsGroup/fsGroup.
RUN mkdir -p /opt/burrow /etc/burrow /var/lib/burrow \
 && chown 65532:65532 /var/lib/burrow
COPY --from=build /src/cli/target/burrow.jar /opt/burrow/burrow.jar
ENV BURROW_STATE=/var/lib/burrow
USER 65532:65532
# 8443/tcp relay (TLS; 443 on the Service), 3478/udp STUN, 9090/tcp admin (cluster-internal only).
EXPOSE 8443/tcp 3478/udp 9090/tcp
# No HEALTHCHECK: Kubernetes probes /healthz and /readyz on the admin port.
# Container JVM flags: heap from the memory limit, and exit on OOM so the orchestrator restarts us.
ENTRYPOINT ["java", "--enable-native-access=ALL-UNNAMED", "-XX:MaxRAMPercentage=75", "-XX:+ExitOnOutOfMemoryError", "-jar", "/opt/burrow/burrow.jar"]
CMD ["relay", "--config", "/etc/burrow/relay.yaml"]
