#!/usr/bin/env bash
# Smoke test of the image: build it; render a small set into a mounted folder and check its
# manifest and owner on the host; run the server on a non-default port with a small dataset and
# a token given as a secret; wait for /readyz and the image's HEALTHCHECK; check that the token
# guards the API; fetch one virtual shard and check that it is a tar of image/json/cls members.
#
#   deploy/smoke.sh          # the cpu variant: works wherever Docker (or podman) runs
#   deploy/smoke.sh gpu      # the gpu variant with --gpus all (NVIDIA container toolkit)
#
# Environment: SMOKE_IMAGE (tag to build/run, default unnatural:smoke-VARIANT),
# SMOKE_NO_BUILD=1 (use SMOKE_IMAGE as it is), SMOKE_BUILD_ARGS (more `build` flags, split on
# spaces, e.g. "--network=host --build-arg=BASE_IMAGE=..."), SMOKE_TIMEOUT (seconds for
# /readyz, default 180), DOCKER (the docker command, default docker; `DOCKER=podman` builds
# with --format docker, which keeps the HEALTHCHECK, and passes the token as a podman secret).
# Prints PASS and exits 0, or prints the server's logs and exits non-zero. The containers (by
# id), the secret and the temporary files are removed either way.
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
# Not 8000: the HEALTHCHECK must follow the port `serve` is given.
port_in=8811
work="$(mktemp -d)"
containers=()
started=""
server=""
secret=""
podman=0
if $docker --version 2> /dev/null | grep -qi podman; then
    podman=1
fi

cleanup() {
    local rc=$? id
    if [ "$rc" -ne 0 ] && [ -n "$server" ]; then
        echo "---- server logs ----" >&2
        $docker logs "$server" >&2 2>&1 || true
        echo "---- end of logs ----" >&2
    fi
    for id in ${containers[@]+"${containers[@]}"}; do
        $docker rm -f "$id" > /dev/null 2>&1 || true
    done
    if [ -n "$secret" ]; then
        $docker secret rm "$secret" > /dev/null 2>&1 || true
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

# Start a detached container; its id goes to $started and to the cleanup's list.
start() {
    started="$($docker run -d --init ${gpu_flags[@]+"${gpu_flags[@]}"} "$@")"
    containers+=("$started")
}

# -- build ------------------------------------------------------------------------------------
if [ "${SMOKE_NO_BUILD:-0}" != 1 ]; then
    build_flags=()
    if [ "$podman" = 1 ]; then
        build_flags=(--format docker)
    fi
    read -r -a extra <<< "${SMOKE_BUILD_ARGS:-}"
    echo "smoke: building $image (VARIANT=$variant)"
    build_start=$SECONDS
    $docker build ${build_flags[@]+"${build_flags[@]}"} ${extra[@]+"${extra[@]}"} \
        --build-arg "VARIANT=$variant" -t "$image" "$root"
    echo "smoke: built in $((SECONDS - build_start))s"
fi

gpu_flags=()
if [ "$variant" = gpu ]; then
    gpu_flags=(--gpus all)
fi

# -- offline render into a mounted folder, as the docs show -------------------------------------
# As root the folder is chowned to the image's uid 10001 (docs/DEPLOY.md); otherwise the
# container runs as the caller (--user), and the files must then be the caller's.
out="$work/out"
mkdir -p "$out"
user_flags=()
if [ "$(id -u)" = 0 ]; then
    chown 10001:10001 "$out"
    owner=10001:10001
else
    owner="$(id -u):$(id -g)"
    user_flags=(--user "$owner")
    if [ "$podman" = 1 ]; then
        user_flags+=(--userns=keep-id)   # rootless podman: the caller's uid, not a subuid
    fi
fi
echo "smoke: rendering into a mounted folder as $owner"
start --no-healthcheck ${user_flags[@]+"${user_flags[@]}"} -v "$out:/out" "$image" \
    render --out /out --images 20 --size 16 --images-per-shard 10 --composed-programs 4 --workers 1 \
    --no-progress
render="$started"
render_rc="$($docker wait "$render")"
if [ "$render_rc" != 0 ]; then
    $docker logs "$render" >&2 2>&1 || true
    fail "the render container exited with $render_rc"
fi
[ -f "$out/manifest.json" ] || fail "no manifest.json in the mounted folder"
grep -Eq '"samples": *20[,}[:space:]]' "$out/manifest.json" || fail "the manifest does not count 20 samples"
shards=("$out"/*.tar)
[ "${#shards[@]}" = 2 ] || fail "expected 2 shards in the mounted folder, found ${#shards[@]}"
for f in "$out/manifest.json" "${shards[@]}"; do
    [ "$(stat -c %u:%g "$f")" = "$owner" ] || fail "$(basename "$f") belongs to $(stat -c %u:%g "$f"), expected $owner"
done
for f in "${shards[@]}"; do
    grep -q "\"$(basename "$f")\"" "$out/manifest.json" || fail "$(basename "$f") is not in the manifest"
    tar -tf "$f" > /dev/null || fail "$(basename "$f") is not a tar"
done
echo "smoke: render OK (manifest, ${#shards[@]} shards, owner $owner)"

# -- config, and the token as a secret, readable by the image's uid 10001 -----------------------
cat > "$work/datasets.yaml" << 'YAML'
datasets:
  - {name: smoke, seed: 0, width: 16, height: 16, images: 20, images_per_shard: 10, format: png, composed_programs: 4}
YAML
token="smoke-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$token" > "$work/token"
chmod 0755 "$work"
chmod 0644 "$work/datasets.yaml" "$work/token"
# podman has secrets of its own; docker has them only in swarm mode, so there the token is
# bind-mounted where compose puts a secret. Either way: /run/secrets/unnatural_token.
if [ "$podman" = 1 ]; then
    secret="$($docker secret create "unnatural-smoke-$$-$RANDOM" "$work/token")"
    secret_flags=(--secret "$secret,target=unnatural_token")
else
    secret_flags=(-v "$work/token:/run/secrets/unnatural_token:ro")
fi

# -- run: a random free host port on the loopback interface (docker picks it) -----------------
echo "smoke: starting the server on container port $port_in"
start --health-interval 2s -p "127.0.0.1::$port_in" -v "$work/datasets.yaml:/config/datasets.yaml:ro" \
    "${secret_flags[@]}" "$image" \
    serve --host 0.0.0.0 --port "$port_in" --workers 1 --config /config/datasets.yaml \
    --token-file /run/secrets/unnatural_token
server="$started"

mapping="$($docker port "$server" "$port_in/tcp" | head -n 1)"
port="${mapping##*:}"
[ -n "$port" ] || fail "no host port published for $port_in/tcp (got '$mapping')"
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
    if [ "$($docker inspect -f '{{.State.Running}}' "$server" 2> /dev/null || echo false)" != true ]; then
        fail "the container exited before /readyz answered 200"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        fail "/readyz did not answer 200 within ${timeout_s}s (last status: ${code:-none})"
    fi
    sleep 2
done
echo "smoke: ready after $((SECONDS - wait_start))s"
curl -fsS --max-time 5 "$base/healthz" > /dev/null || fail "/healthz did not answer 200"

# -- the image's HEALTHCHECK, on port $port_in --------------------------------------------------
# podman runs it on demand; docker runs it every --health-interval and reports the status.
health=""
deadline=$((SECONDS + 60))
while [ "$health" != healthy ]; do
    if [ "$podman" = 1 ]; then
        health="$($docker healthcheck run "$server" > /dev/null 2>&1 && echo healthy || echo unhealthy)"
    else
        health="$($docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$server")"
    fi
    [ "$SECONDS" -lt "$deadline" ] || fail "the HEALTHCHECK reports '${health:-no health check}' on port $port_in"
    [ "$health" = healthy ] || sleep 2
done
echo "smoke: HEALTHCHECK healthy on port $port_in"

# -- the token guards the data endpoints ----------------------------------------------------------
shard_url="$base/datasets/smoke/smoke-000000.tar"
for auth in "" "Authorization: Bearer not-$token"; do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 ${auth:+-H "$auth"} "$shard_url" || true)"
    [ "$code" = 401 ] || fail "a shard request with '${auth:-no token}' got HTTP $code, expected 401"
done

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
