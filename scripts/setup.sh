#!/usr/bin/env bash
# Sets murmur up on a fresh Debian/Ubuntu machine: the system packages it
# uses, its npm dependencies (prebuilt node-llama-cpp and sherpa-onnx
# binaries), the compiled CLI, and `murmur` on the PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# libasound2-dev: headers to build `speaker` (playback; optional, murmur works without it)
# alsa-utils: arecord, the microphone of `murmur talk`
# espeak-ng-data: phonemizer data for Piper-style voices
# bzip2: the speech models ship as .tar.bz2 (murmur unpacks them itself; tests build archives with tar -cj)
# chromium: the browser the tests of the page (murmur serve at /) drive, through playwright-core
# firefox-esr, webkit2gtk-driver (WebKitWebDriver, Safari's engine), xvfb and xauth (its display): the page's tests in Firefox and WebKit
# systemd: systemd-analyze, which checks the unit `murmur service install` writes (present on most hosts already)
# ffmpeg: transcribe's decoder for what it cannot read itself (m4a, webm, aiff…); optional, and its tests need it
if command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  sudo_ apt-get update -y || echo "setup: apt-get update failed; trying the install with the package lists at hand" >&2
  sudo_ apt-get install -y --no-install-recommends libasound2-dev alsa-utils espeak-ng-data bzip2 python3 make g++ chromium firefox-esr webkit2gtk-driver xvfb xauth systemd ffmpeg
else
  echo "setup: no apt-get here; install ALSA headers (for playback), arecord (alsa-utils, for talk), espeak-ng data and, for m4a, webm and the like, ffmpeg yourself" >&2
fi

npm ci --no-audit --no-fund   # runs `prepare`, which compiles TypeScript to dist/
if [ "${MURMUR_SETUP_LINK:-1}" = 1 ]; then
  npm link --no-audit --no-fund >/dev/null 2>&1 && echo "setup: murmur is on your PATH ($(command -v murmur || echo 'npm bin dir'))" >&2 \
    || echo "setup: could not link murmur globally; run it as ./dist/bin/murmur.js or npx murmur" >&2
fi
