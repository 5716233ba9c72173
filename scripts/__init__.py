"""Developer commands: `python -m scripts.run_all` (what `make run` starts) and the mail sink."""
