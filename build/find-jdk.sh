# Sourced by ./mvnw and ./compresso: exports JAVA_HOME pointing at a JDK >= 25.
# Order: $JAVA_HOME, `java` on PATH, then the usual install places (Debian/Ubuntu, RPM, SDKMAN, macOS, asdf).
compresso_java_major() {
  # prints the feature version of the JDK at $1 (e.g. 25), or nothing
  local v
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 1
  v=$("$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -1)
  v=${v#1.}
  [ -n "$v" ] && echo "${v%%.*}"
}
compresso_find_jdk() {
  local want=25 c m
  local candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v java >/dev/null 2>&1; then
    c=$(readlink -f "$(command -v java)" 2>/dev/null) && candidates+=("$(dirname "$(dirname "$c")")")
  fi
  for c in /usr/lib/jvm/* /usr/java/* /opt/java/* /opt/jdk* "$HOME"/.sdkman/candidates/java/* \
           "$HOME"/.asdf/installs/java/* /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -d "$c" ] && candidates+=("$c")
  done
  for c in "${candidates[@]}"; do
    m=$(compresso_java_major "$c") || continue
    if [ -n "$m" ] && [ "$m" -ge "$want" ] 2>/dev/null; then
      export JAVA_HOME="$c"
      return 0
    fi
  done
  echo "compresso: no JDK >= $want found (looked at \$JAVA_HOME, PATH, /usr/lib/jvm, SDKMAN, asdf, macOS)." >&2
  echo "compresso: install JDK 25 (e.g. Temurin) and set JAVA_HOME." >&2
  return 1
}
