"""What a trained run produces and is read back from: loading models, export, animation,
notebook helpers, the presets table and the CLI's early argument checks.

Import from the modules; this file imports nothing.
"""
