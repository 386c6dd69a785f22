"""Load benchmark of the CDS service against a baseline server (see benchmarks/README.md)."""
