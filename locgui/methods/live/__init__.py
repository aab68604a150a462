"""Live relocalization: frame-to-map tracking with relocalization fallback, and the session
that pulls frames from a capture, records the trajectory and summarizes the run."""
