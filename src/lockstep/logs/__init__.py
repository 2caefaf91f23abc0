"""lockstep.logs."""
