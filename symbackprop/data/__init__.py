"""Data shipped with the package: the lecture network's spec and the derived output/loss table."""
