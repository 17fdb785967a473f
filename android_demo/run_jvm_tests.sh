#!/usr/bin/env bash
# The app's pure-Java logic (android_demo/src/org/tfpose/demo/pose: no Android classes) and its
# JUnit tests on the host JVM, against the golden files the Python package writes.
#   bash android_demo/run_jvm_tests.sh          # installs javac / JUnit 4 from Debian if missing
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${BUILD_DIR:-$here/build}/jvm"

need_install=()
command -v javac >/dev/null || need_install+=(default-jdk-headless)
[ -f /usr/share/java/junit4.jar ] || need_install+=(junit4)
if [ ${#need_install[@]} -gt 0 ]; then
  echo "installing ${need_install[*]} (Debian packages)"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq && $sudo apt-get install -y -qq "${need_install[@]}" >/dev/null
fi

classpath="/usr/share/java/junit4.jar:/usr/share/java/hamcrest-core.jar"
rm -rf "$build" && mkdir -p "$build"
# Java 8 language level: the app's code must also go through Android's dx.
javac -nowarn -source 8 -target 8 -Xlint:-options -d "$build" -cp "$classpath" \
  "$here"/src/org/tfpose/demo/pose/*.java "$here"/tests/org/tfpose/demo/pose/*.java
tests=$(cd "$here/tests" && ls org/tfpose/demo/pose/*Test.java | sed 's/\.java$//; s#/#.#g')
# shellcheck disable=SC2086
java -Dgolden.dir="$here/golden" -cp "$build:$classpath" org.junit.runner.JUnitCore $tests
