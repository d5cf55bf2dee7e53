"""Analyses of scores and architectures: correlation, operation importance, motifs, sampling."""
