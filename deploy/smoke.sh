#!/usr/bin/env bash
# Smoke test of the image: build it, run the server with a small dataset and a token, wait for
# /readyz, fetch one virtual shard and check that it is a tar of image/json/cls members.
#
#   deploy/smoke.sh          # the cpu variant: works wherever Docker runs
#   deploy/smoke.sh gpu      # the gpu variant with --gpus all (NVIDIA container toolkit)
#
# Environment: SMOKE_IMAGE (tag to build/run, default unnatural:smoke-VARIANT),
# SMOKE_NO_BUILD=1 (use SMOKE_IMAGE as it is), SMOKE_TIMEOUT (seconds for /readyz, default 180),
# DOCKER (the docker command, default docker).
# Prints PASS and exits 0, or prints the container's logs and exits non-zero. The container and
# the temporary files are removed either way.
set -euo pipefail

variant="${1:-cpu}"
case "$variant" in
    gpu | cpu) ;;
    *) echo "usage: $0 [cpu|gpu]" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
docker="${DOCKER:-docker}"
image="${SMOKE_IMAGE:-unnatural:smoke-$variant}"
timeout_s="${SMOKE_TIMEOUT:-180}"
name="unnatural-smoke-$$-$RANDOM"
work="$(mktemp -d)"
started=0

cleanup() {
    local rc=$?
    if [ "$rc" -ne 0 ] && [ "$started" = 1 ]; then
        echo "---- container logs ($name) ----" >&2
        $docker logs "$name" >&2 2>&1 || true
        echo "---- end of logs ----" >&2
    fi
    if [ "$started" = 1 ]; then
        $docker rm -f "$name" > /dev/null 2>&1 || true
    fi
    rm -rf "$work"
    if [ "$rc" -ne 0 ]; then
        echo "FAIL (exit $rc)" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "smoke: $*" >&2
    exit 1
}

# -- build ------------------------------------------------------------------------------------
if [ "${SMOKE_NO_BUILD:-0}" != 1 ]; then
    echo "smoke: building $image (VARIANT=$variant)"
    $docker build --build-arg "VARIANT=$variant" -t "$image" "$root"
fi

# -- config and token, readable by the image's uid 10001 --------------------------------------
cat > "$work/datasets.yaml" << 'YAML'
datasets:
  - {name: smoke, seed: 0, width: 16, height: 16, images: 20, images_per_shard: 10, format: png, composed_programs: 4}
YAML
token="smoke-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$token" > "$work/token"
chmod 0755 "$work"
chmod 0644 "$work/datasets.yaml" "$work/token"

# -- run: a random free host port on the loopback interface (docker picks it) -----------------
gpu_flags=()
if [ "$variant" = gpu ]; then
    gpu_flags=(--gpus all)
fi
echo "smoke: starting $name"
started=1
$docker run -d --init --name "$name" ${gpu_flags[@]+"${gpu_flags[@]}"} \
    -p 127.0.0.1::8000 \
    -v "$work:/config:ro" \
    "$image" \
    serve --host 0.0.0.0 --port 8000 --workers 1 --config /config/datasets.yaml --token-file /config/token \
    > /dev/null

mapping="$($docker port "$name" 8000/tcp | head -n 1)"
port="${mapping##*:}"
[ -n "$port" ] || fail "no host port published for 8000/tcp (got '$mapping')"
base="http://127.0.0.1:$port"
echo "smoke: server at $base"

# -- wait for /readyz ---------------------------------------------------------------------------
wait_start=$SECONDS
deadline=$((SECONDS + timeout_s))
while :; do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$base/readyz" || true)"
    if [ "$code" = 200 ]; then
        break
    fi
    if [ "$($docker inspect -f '{{.State.Running}}' "$name" 2> /dev/null || echo false)" != true ]; then
        fail "the container exited before /readyz answered 200"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        fail "/readyz did not answer 200 within ${timeout_s}s (last status: ${code:-none})"
    fi
    sleep 2
done
echo "smoke: ready after $((SECONDS - wait_start))s"
curl -fsS --max-time 5 "$base/healthz" > /dev/null || fail "/healthz did not answer 200"

# -- the token guards the data endpoints ----------------------------------------------------------
shard_url="$base/datasets/smoke/smoke-000000.tar"
code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$shard_url" || true)"
[ "$code" = 401 ] || fail "a shard request without the token got HTTP $code, expected 401"

# -- one virtual shard: a tar with 10 samples x (png, json, cls) ----------------------------------
auth="Authorization: Bearer $token"
curl -fsS --max-time 120 -H "$auth" -o "$work/shard.tar" "$shard_url" || fail "GET $shard_url failed"
members="$(tar -tf "$work/shard.tar")" || fail "the shard is not a tar"
count="$(printf '%s\n' "$members" | grep -c . || true)"
pngs="$(printf '%s\n' "$members" | grep -c '\.png$' || true)"
[ "$count" = 30 ] && [ "$pngs" = 10 ] \
    || fail "the shard has $count members ($pngs png), expected 30 (10 png)"

curl -fsS --max-time 10 -H "$auth" "$base/metrics" > "$work/metrics" || fail "GET /metrics failed"
[ -s "$work/metrics" ] || fail "/metrics is empty"

renderer="$(curl -fsS --max-time 5 "$base/readyz" | tr -d '\n' | grep -o '"renderer":"[^"]*"' | head -n 1 || true)"
echo "smoke: shard OK ($count members), ${renderer:-renderer unknown}"
if [ "$variant" = gpu ] && ! printf '%s' "$renderer" | grep -qi nvidia; then
    fail "VARIANT=gpu but the render process is not on an NVIDIA GPU ($renderer): check --gpus and NVIDIA_DRIVER_CAPABILITIES"
fi
echo PASS
