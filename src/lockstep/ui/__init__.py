"""lockstep.ui."""
