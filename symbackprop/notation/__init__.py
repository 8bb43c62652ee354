"""How a solution is written down: reproducible arithmetic lines, expanded chains, the network drawing."""
