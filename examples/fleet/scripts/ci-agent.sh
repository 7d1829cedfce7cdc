#!/bin/sh
set -eu
echo "ci-agent: $IMAGE: runner agent 3.4, build tools"
