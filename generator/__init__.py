"""Rendering side of unnatural: GL context, programs, batched renderer, sampling, shards."""
