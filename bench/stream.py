"""Benchmark: images/s received by a webdataset client from `unnatural serve` over loopback,
against `unnatural render` writing the same spec locally; and the server's peak memory with
slow concurrent clients.

Prints Markdown tables (copy them into docs/BENCHMARKS.md with the machine they ran on):

- local: `render_dataset` writing the spec's shards to a temporary folder (2 render processes by
  default, pool start-up included), images/s;
- streamed: a `webdataset.WebDataset` over the spec's brace URL, batched by 256 in the workers of
  a torch DataLoader with 2 workers (samples parsed from the tar, not decoded; batching in the
  workers as trainers do: one sample per DataLoader message would measure the DataLoader's IPC),
  against a server with the same number of render processes, warmed up by one shard; images/s
  from the first request to the last sample;
- memory: N clients each read an endless `/stream` at a trickle for a while; the peak resident
  memory of the server process and of its render processes (sampled from /proc, Linux).

Both sides share the machine's cores with everything else they run (the client's curl and tar
parsing, the local job's writer), as they would in use.

usage: python bench/stream.py [--sizes 32,64] [--formats npy,jpg] [--workers 2] [--scale 1.0]
                              [--slow-clients 8] [--slow-seconds 20]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

import httpx
import torch
import webdataset as wds

from unnatural.generator.job import render_dataset
from unnatural.generator.spec import DatasetSpec
from unnatural.server.process import ServerProcess

IMAGES = {32: 40_000, 64: 16_000, 128: 4_000}
PAGE = os.sysconf("SC_PAGE_SIZE")


def spec_for(size: int, fmt: str, images: int) -> DatasetSpec:
    return DatasetSpec(name=f"b{size}{fmt}", seed=size, width=size, height=size, images=images,
                       images_per_shard=1000, format=fmt)


def local_rate(spec: DatasetSpec, workers: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        render_dataset(spec, out, workers=workers, progress=False)
        return spec.images / (time.perf_counter() - start)


def streamed_rate(server: ServerProcess, spec: DatasetSpec, loader_workers: int) -> float:
    info = server.client.post("/datasets", json=spec.to_dict()).json()
    server.client.get(f"/datasets/{spec.name}/{spec.shard_name(0)}")   # compile the programs once
    dataset = wds.WebDataset(info["url_template"], shardshuffle=False, workersplitter=wds.split_by_worker,
                             empty_check=False).batched(256, collation_fn=None)
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=loader_workers)
    start = time.perf_counter()
    n = sum(len(batch) for batch in loader)
    elapsed = time.perf_counter() - start
    assert n == spec.images, f"received {n} of {spec.images} samples"
    return n / elapsed


def _rss(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (FileNotFoundError, ProcessLookupError):
        return 0


def slow_clients_memory(server: ServerProcess, clients: int, seconds: float, size: int) -> dict:
    """Each client reads 16 KiB every 50 ms (~320 KiB/s) from its own endless stream."""
    workers = server.worker_pids()
    stop = threading.Event()
    received = [0] * clients

    def client(i: int) -> None:
        with httpx.Client(base_url=server.url, timeout=60) as c, \
                c.stream("GET", "/stream", params={"seed": i, "size": str(size), "format": "jpg"}) as response:
            for chunk in response.iter_bytes(16 << 10):
                received[i] += len(chunk)
                if stop.is_set():
                    return
                time.sleep(0.05)

    idle = {"server": _rss(server.proc.pid), "workers": sum(_rss(p) for p in workers)}
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    peak = {"server": 0, "workers": 0, "total": 0}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        now = {"server": _rss(server.proc.pid), "workers": sum(_rss(p) for p in workers)}
        now["total"] = now["server"] + now["workers"]
        peak = {k: max(peak[k], now[k]) for k in peak}
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join(30)
    return {"idle": idle, "peak": peak, "received_MiB": sum(received) / 2**20}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="32,64")
    ap.add_argument("--formats", default="npy,jpg")
    ap.add_argument("--workers", type=int, default=2, help="render processes, local and server (default 2)")
    ap.add_argument("--loader-workers", type=int, default=2, help="client DataLoader workers (default 2)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply the image counts")
    ap.add_argument("--slow-clients", type=int, default=8)
    ap.add_argument("--slow-seconds", type=float, default=20.0)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    formats = args.formats.split(",")
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"{args.workers} render processes, {args.loader_workers} DataLoader workers")
    rows = []
    with tempfile.TemporaryDirectory() as tmp, \
            ServerProcess(["--workers", str(args.workers), "--log-level", "warning"], Path(tmp) / "server.log") as server:
        for size in sizes:
            for fmt in formats:
                spec = spec_for(size, fmt, max(2000, int(IMAGES.get(size, 4000) * args.scale)))
                local_rate(spec.replace(images=2000, name="warm"), args.workers)   # Mesa shader cache
                local = local_rate(spec, args.workers)
                streamed = streamed_rate(server, spec, args.loader_workers)
                rows.append((size, fmt, spec.images, local, streamed, os.getloadavg()[0]))
                print(f"  {size:4d} px {fmt:4s}: local {local:8,.0f} img/s  streamed {streamed:8,.0f} img/s", flush=True)
        memory = slow_clients_memory(server, args.slow_clients, args.slow_seconds, size=64)
    print("\n| size | format | images | local img/s | streamed img/s | streamed / local | load |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for size, fmt, n, local, streamed, load in rows:
        print(f"| {size} | {fmt} | {n:,} | {local:,.0f} | {streamed:,.0f} | {streamed / local:.2f}x | {load:.1f} |")
    mib = {k: {kk: vv / 2**20 for kk, vv in v.items()} for k, v in memory.items() if k != "received_MiB"}
    print(f"\n{args.slow_clients} slow clients x {args.slow_seconds:g} s of /stream at 64 px jpg "
          f"({memory['received_MiB']:.1f} MiB received in all), resident memory in MiB:\n")
    print("| process | idle | peak |\n|---|---:|---:|")
    print(f"| server (uvicorn + event loop) | {mib['idle']['server']:.0f} | {mib['peak']['server']:.0f} |")
    print(f"| {args.workers} render processes | {mib['idle']['workers']:.0f} | {mib['peak']['workers']:.0f} |")
    print(f"| total | {mib['idle']['server'] + mib['idle']['workers']:.0f} | {mib['peak']['total']:.0f} |")
    print("\n" + json.dumps({"rows": rows, "memory_MiB": mib}))


if __name__ == "__main__":
    main()
