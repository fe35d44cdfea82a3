#!/bin/sh
# The image's HEALTHCHECK (installed as /usr/local/bin/unnatural-healthcheck): GET /healthz of
# the running `unnatural serve`, on the port and host its own command line names, so that
# `docker run IMAGE serve --port 8811` is as healthy as the default `--port 8000`.
#
#   unnatural-healthcheck [PROC]     # PROC: the proc file system to scan (default /proc)
#
# Exits 0 when a server's /healthz answers 200, else 1. Without any `unnatural serve` process
# (say, a custom command line) it asks 127.0.0.1:8000, serve's default.
proc="${1:-/proc}"
found=0
for cmdline in "$proc"/[0-9]*/cmdline; do
    # One argument per line; a process may exit between the glob and the read.
    args="$(tr '\0' '\n' < "$cmdline" 2> /dev/null)" || continue
    printf '%s\n' "$args" | grep -Eq '(^|/)unnatural$' || continue
    printf '%s\n' "$args" | grep -qx serve || continue
    found=1
    port="$(printf '%s\n' "$args" | sed -n -e '/^--port=/{s/^--port=//p;q;}' -e '/^--port$/{n;p;q;}')"
    host="$(printf '%s\n' "$args" | sed -n -e '/^--host=/{s/^--host=//p;q;}' -e '/^--host$/{n;p;q;}')"
    # serve binds 127.0.0.1 by default; a wildcard bind answers on the loopback interface.
    case "$host" in
        "" | 0.0.0.0) host=127.0.0.1 ;;
        :: | "[::]") host="[::1]" ;;
        *:*) host="[$host]" ;;
    esac
    curl -fsS --max-time 4 -o /dev/null "http://$host:${port:-8000}/healthz" && exit 0
done
if [ "$found" = 0 ]; then
    curl -fsS --max-time 4 -o /dev/null "http://127.0.0.1:8000/healthz" && exit 0
fi
# Docker reads any status but 0 and 1 as reserved.
exit 1
