#!/bin/sh
set -eu
echo "database: $IMAGE: postgres 16, WAL archiving"
