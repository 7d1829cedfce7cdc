#!/bin/sh
set -eu
echo "cache: $IMAGE: redis 7"
