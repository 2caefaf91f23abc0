"""lockstep.watch."""
