#!/usr/bin/env bash
# Run the integration suites against a throwaway local Redis Cluster (scripts/redis-cluster.sh),
# and stop the cluster afterwards whatever the tests did. Extra arguments go to vitest, e.g.
#   scripts/test-cluster.sh src/store/redis/cluster.test.ts
# REDIS_CLUSTER_BASE_PORT picks the ports (default 7101..7103, and 17101..17103 for the bus).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

base=${REDIS_CLUSTER_BASE_PORT:-7101}
stop() { bash scripts/redis-cluster.sh stop "$base" || true; }
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

nodes=$(bash scripts/redis-cluster.sh start "$base")
echo "test-cluster: TEST_REDIS_CLUSTER_NODES=$nodes" >&2
TEST_REDIS_CLUSTER_NODES=$nodes npx vitest run --project integration "$@"
