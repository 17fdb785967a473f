#!/usr/bin/env bash
# Builds the demo's signed debug APK without Gradle, from Debian packages, and checks it.
#
#   bash android_demo/build_apk.sh                              # app only, no models, no runtime
#   MODELS="runs/bihrnet/model_decoded.tflite lp_int8.tflite" \
#   LCE_AAR=path/to/lce-lite.aar bash android_demo/build_apk.sh # what a phone needs
#
# MODELS: converted .tflite files (tfpose convert); they go to assets/models uncompressed, with
#   the .properties the app reads (python -m tfpose.export.app_bundle).
# LCE_AAR: the LCE runtime AAR (it replaces org.tensorflow:tensorflow-lite): its classes are
#   dexed into the APK and its jni/arm64-v8a/*.so go under lib/. Without it the app compiles
#   against the Interpreter API only (android_demo/compile_only) and says on screen that the
#   runtime is missing.
# Tools: aapt, zipalign, apksigner, dexdump and a JDK from bookworm; android.jar (API 23) and dx
#   from Debian bullseye's libandroid-23-java and dalvik-exchange, unpacked into the build folder
#   (nothing of bullseye is installed into the system).
# Output: $BUILD_DIR/tfpose-demo.apk (default android_demo/build).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${BUILD_DIR:-$here/build}"
tools="$build/tools"
apk="$build/tfpose-demo.apk"
fail() { echo "build_apk.sh: $*" >&2; exit 1; }

install_tools() {
  local missing=()
  command -v javac >/dev/null || missing+=(default-jdk-headless)
  for tool in aapt zipalign apksigner dexdump; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} (Debian bookworm)"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  android_jar="$tools/usr/share/java/com.android.android-23.jar"
  dx_jar="$tools/usr/share/java/com.android.dx-10.0.0.jar"
  [ -f "$android_jar" ] && [ -f "$dx_jar" ] && return
  echo "fetching android.jar (API 23) and dx from Debian bullseye into $tools"
  local apt="$tools/apt"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
  echo "deb http://deb.debian.org/debian bullseye main" > "$apt/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
              -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
              -o APT::Sandbox::User=root)
  apt-get "${opts[@]}" update -qq
  (cd "$apt/debs" && apt-get "${opts[@]}" download libandroid-23-java dalvik-exchange -qq)
  for deb in "$apt"/debs/*.deb; do dpkg -x "$deb" "$tools"; done
  [ -f "$android_jar" ] && [ -f "$dx_jar" ] || fail "android.jar or dx missing after unpacking"
}

compile() {
  rm -rf "$build/classes" "$build/api" "$build/apk" && mkdir -p "$build/classes" "$build/api"
  local classpath="$build/api"
  javac -nowarn -source 8 -target 8 -Xlint:-options -bootclasspath "$android_jar" \
    -d "$build/api" $(find "$here/compile_only" -name '*.java')
  if [ -n "${LCE_AAR:-}" ]; then
    [ -f "$LCE_AAR" ] || fail "LCE_AAR=$LCE_AAR: file not found"
    rm -rf "$build/aar" && mkdir -p "$build/aar"
    unzip -q "$LCE_AAR" -d "$build/aar" || fail "$LCE_AAR: not a readable AAR (zip)"
    [ -f "$build/aar/classes.jar" ] || fail "$LCE_AAR: no classes.jar inside"
    classpath="$build/aar/classes.jar"  # the real API instead of the declarations
  fi
  javac -nowarn -source 8 -target 8 -Xlint:-options -bootclasspath "$android_jar" \
    -cp "$classpath" -d "$build/classes" $(find "$here/src" -name '*.java')
  local inputs=("$build/classes")
  [ -n "${LCE_AAR:-}" ] && inputs+=("$build/aar/classes.jar")
  java -jar "$dx_jar" --dex --min-sdk-version=23 --output="$build/classes.dex" "${inputs[@]}"
}

package() {
  mkdir -p "$build/apk/assets"
  if [ -n "${MODELS:-}" ]; then
    # shellcheck disable=SC2086
    python -m tfpose.export.app_bundle $MODELS --assets "$build/apk/assets" \
      || fail "could not bundle MODELS=$MODELS"
  fi
  # -0 tflite: models stay uncompressed so the app can memory-map them
  aapt package -f -0 tflite -M "$here/AndroidManifest.xml" -I "$android_jar" \
    -A "$build/apk/assets" -F "$build/unsigned.apk"
  (cd "$build" && aapt add unsigned.apk classes.dex >/dev/null)
  if [ -n "${LCE_AAR:-}" ] && ls "$build"/aar/jni/arm64-v8a/*.so >/dev/null 2>&1; then
    mkdir -p "$build/apk/lib/arm64-v8a"
    cp "$build"/aar/jni/arm64-v8a/*.so "$build/apk/lib/arm64-v8a/"
    (cd "$build/apk" && aapt add "$build/unsigned.apk" lib/arm64-v8a/*.so >/dev/null)
  fi
  zipalign -p -f 4 "$build/unsigned.apk" "$build/aligned.apk"
  local keystore="$build/debug.keystore"
  [ -f "$keystore" ] || keytool -genkeypair -keystore "$keystore" -storepass android \
    -keypass android -alias debug -keyalg RSA -keysize 2048 -validity 10000 \
    -dname "CN=tfpose debug" >/dev/null 2>&1
  apksigner sign --ks "$keystore" --ks-pass pass:android --key-pass pass:android \
    --out "$apk" "$build/aligned.apk"
}

check() {
  apksigner verify "$apk" || fail "$apk: signature does not verify"
  local badging
  badging="$(aapt dump badging "$apk")"
  grep -q "package: name='org.tfpose.demo'" <<<"$badging" || fail "package name missing"
  grep -q "launchable-activity: name='org.tfpose.demo.MainActivity'" <<<"$badging" \
    || fail "no launcher activity"
  grep -q "uses-permission: name='android.permission.CAMERA'" <<<"$badging" \
    || fail "no CAMERA permission"
  local classes
  classes="$(dexdump "$build/classes.dex" | grep "Class descriptor")"
  for class in MainActivity PoseEstimator OverlayView pose/Preprocessor pose/HeatmapDecoder; do
    grep -q "Lorg/tfpose/demo/$class;" <<<"$classes" || fail "class $class not in classes.dex"
  done
  if [ -z "${LCE_AAR:-}" ] && grep -q "Lorg/tensorflow/lite/Interpreter;" <<<"$classes"; then
    fail "the compile-time Interpreter declaration leaked into the APK"
  fi
  if unzip -v "$apk" | grep "\.tflite$" | grep -qv " Stored "; then
    fail "a model in assets/ is compressed"
  fi
  echo "built and verified $apk ($(stat -c %s "$apk") bytes)"
}

install_tools
compile
package
check
