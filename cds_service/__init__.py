"""Anakinra (Kineret) coverage decision service: CDS Hooks 2.0 + Da Vinci CRD 2.2."""

__version__ = "0.1.0"
