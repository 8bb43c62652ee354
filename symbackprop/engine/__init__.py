"""The engine: spec -> network graph -> derivation with proofs -> exact values, as one Solution."""
