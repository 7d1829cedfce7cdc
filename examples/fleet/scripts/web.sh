#!/bin/sh
set -eu
echo "web: $IMAGE: reverse proxy, TLS defaults"
