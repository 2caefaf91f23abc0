"""lockstep.tiltfile."""
