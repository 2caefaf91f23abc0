"""lockstep's benchmark suite against peer tools; `bench/run_all.py` is the entry point."""
