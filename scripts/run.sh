#!/usr/bin/env bash
# The main job: run a control plane, apply the seeds' nginx Deployment and
# Service with the embedded kubectl, show them, and keep serving until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/bin/sampan
data=${SAMPAN_DATA_DIR:-$PWD/.run/server}
port=${SAMPAN_PORT:-6443}
mkdir -p "$data"

"$bin" server --data-dir "$data" --secure-port "$port" --bind-address 127.0.0.1 >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT
export KUBECONFIG=$data/admin.conf

for _ in $(seq 1 100); do
  if [[ -f $KUBECONFIG ]] && "$bin" kubectl get --raw /readyz >/dev/null 2>&1; then break; fi
  if ! kill -0 $server 2>/dev/null; then cat "$data/server.log"; exit 1; fi
  sleep 0.1
done

set -x
"$bin" kubectl version
"$bin" kubectl apply -f examples/seed/nginx-deployment.yaml
"$bin" kubectl apply -f examples/seed/nginx-service.yaml
"$bin" kubectl get deployment,service -o wide
{ set +x; } 2>/dev/null

cat <<EOT

The control plane is running (log: $data/server.log). In another terminal:
  export KUBECONFIG=$KUBECONFIG
  $bin kubectl get all -A
  $bin kubectl scale deployment nginx-deployment --replicas=5
  $bin kubectl get deployment nginx-deployment -o yaml
Pods stay Pending until the scheduler, controllers and node agents arrive (next issues).
Press Ctrl-C to stop.
EOT
wait $server
