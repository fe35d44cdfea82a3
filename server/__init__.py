"""HTTP side of unnatural (FastAPI): virtual shards and endless streams. Not built yet."""
