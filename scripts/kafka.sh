#!/usr/bin/env bash
# Apache Kafka (the broker, for tests/brokers) from Maven Central only: the
# artifact org.apache.kafka:kafka_2.13 and its runtime dependencies, copied
# by `mvn dependency:copy-dependencies` from a throwaway pom into
#
#   $TORVYN_CACHE_DIR/kafka/<version>/libs/*.jar
#
# keyed by the version, so a second run only checks a stamp and returns.
# Prints the libs directory on stdout. The machine's Java (17+) runs it:
# tests/brokers/kafka.py puts libs/* on the class path.
#
#   scripts/kafka.sh            the pinned version below
#   scripts/kafka.sh 4.3.1      another one
#   TORVYN_KAFKA_ARTIFACT=kafka-tools scripts/kafka.sh
#                               Kafka's command-line tools (ProducerPerformance,
#                               ConsumerPerformance: bench/connectors/kafka_scale.py)
#                               into <version>/kafka-tools-libs instead
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/env.sh
source "$here/env.sh"

version="${1:-${TORVYN_KAFKA_VERSION:-4.4.0}}"
artifact="${TORVYN_KAFKA_ARTIFACT:-kafka_2.13}"
home="$TORVYN_CACHE_DIR/kafka/$version"
libs="$home/libs"
stamp="$home/.complete"
if [ "$artifact" != kafka_2.13 ]; then
  libs="$home/$artifact-libs"
  stamp="$home/.complete-$artifact"
fi
if [ -f "$stamp" ] && [ -d "$libs" ]; then
  printf '%s\n' "$libs"
  exit 0
fi

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
command -v mvn >/dev/null 2>&1 || { log "mvn not found (Debian package maven): run scripts/setup.sh"; exit 1; }
command -v java >/dev/null 2>&1 || { log "java not found (Debian package openjdk-17-jre-headless): run scripts/setup.sh"; exit 1; }

log "fetching org.apache.kafka:$artifact:$version and its dependencies from Maven Central (once; into $libs)"
work="$home/.fetch-$artifact"
rm -rf "$work" "$libs"
mkdir -p "$work"
cat >"$work/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.torvyn.tests</groupId>
  <artifactId>kafka-broker-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>$artifact</artifactId>
      <version>$version</version>
    </dependency>
    <!-- The broker logs through SLF4J: a binding (of the API version Kafka brings), so its log says why it stopped. -->
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-simple</artifactId>
      <version>1.7.36</version>
    </dependency>
  </dependencies>
</project>
EOF
# Maven's own repository under the cache dir too, so nothing lands in ~/.m2
# and a cold run is really cold.
mvn -B -q -f "$work/pom.xml" -Dmaven.repo.local="$TORVYN_CACHE_DIR/m2" \
  org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$libs" >&2
count=$(find "$libs" -name '*.jar' | wc -l)
[ "$count" -gt 10 ] || { log "only $count jars in $libs: the fetch failed"; exit 1; }
rm -rf "$work"
touch "$stamp"
log "$count jars in $libs"
printf '%s\n' "$libs"
