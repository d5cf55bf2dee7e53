"""Tabular benchmarks: the compact NAS-Bench-201 table (`table`) and its importer (`importer`)."""
