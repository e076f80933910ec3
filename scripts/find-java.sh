# Sourced by ./burrow and ./run-tests: sets JAVA_HOME to a JDK >= 21 and puts it first on PATH.
# Order: $JAVA_HOME, the `java` on PATH, then the JDKs installed side by side (/usr/lib/jvm, /opt, sdkman).

burrow_java_major() { # $1 = path to a java binary; prints its feature version (17, 21, 25...)
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n1 | cut -d. -f1
}

burrow_find_java() {
  local min=21 candidate major
  local candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  for candidate in /usr/lib/jvm/* /opt/java/* /opt/jdk* "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/*; do
    [ -d "$candidate" ] && candidates+=("$candidate")
  done
  local best="" best_major=0
  for candidate in "${candidates[@]}"; do
    [ -x "$candidate/bin/java" ] || continue
    major=$(burrow_java_major "$candidate/bin/java")
    [ -n "$major" ] || continue
    # The first candidate that is new enough wins when it is the user's own choice (JAVA_HOME or PATH);
    # among the installed ones, the newest wins.
    if [ "$major" -ge "$min" ] && [ "$major" -gt "$best_major" ]; then
      best="$candidate"; best_major="$major"
      if [ "$candidate" = "${JAVA_HOME:-}" ]; then break; fi
    fi
  done
  if [ -z "$best" ]; then
    echo "burrow: no JDK $min or newer found (looked at JAVA_HOME, PATH and /usr/lib/jvm). Install one, e.g. 'apt-get install openjdk-21-jdk'." >&2
    return 1
  fi
  export JAVA_HOME="$best"
  export PATH="$JAVA_HOME/bin:$PATH"
}

# Maven 3.8's bundled Guava touches sun.misc.Unsafe, which JDK 24+ warns about on every run.
burrow_quiet_maven() {
  local major; major=$(burrow_java_major "$JAVA_HOME/bin/java")
  if [ "${major:-0}" -ge 24 ]; then
    case " ${MAVEN_OPTS:-} " in *sun-misc-unsafe-memory-access*) ;; *) export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" ;; esac
  fi
}
