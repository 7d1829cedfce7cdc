#!/bin/sh
# Stand-in for a real image provisioner: prints what it would do.
set -eu
echo "provisioning ${IMAGE_NAME} ${IMAGE_VERSION} for ${TARGET}"
if [ "${ENABLE_HARDENING}" = "true" ]; then
  echo "hardening: applying CIS baseline"
fi
if [ "${ENABLE_ANSIBLE}" = "true" ]; then
  echo "ansible: running site.yml"
fi
if [ -n "${REGISTRY_TOKEN}" ]; then
  echo "registry login with a token of ${#REGISTRY_TOKEN} characters"
else
  echo "registry login skipped: HYBRIDCORE_REGISTRY_TOKEN is not set"
fi
