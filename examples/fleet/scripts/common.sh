#!/bin/sh
# Every image: the baseline every team agreed on.
set -eu
if [ "${FLEET_FAIL:-}" = "$IMAGE" ]; then
  echo "common: FLEET_FAIL=$IMAGE: failing this build on purpose" >&2
  exit 1
fi
echo "common: $IMAGE release $RELEASE: time sync, audit rules, CA bundle"
sleep "${FLEET_BUILD_SECONDS:-0}"
