"""lockstep.adapters."""
