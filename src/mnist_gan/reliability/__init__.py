"""What keeps a run safe: the run lock, graceful stop on signals, the divergence guard.

Import from the modules; this file imports nothing.
"""
