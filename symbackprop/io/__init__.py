"""Files in and out: capped reads, atomic writes, TOML, the safe LaTeX compile, PDF splitting, user text."""
