"""HTTP side of unnatural (FastAPI): virtual shards and endless streams; see :mod:`.app`."""
