"""The running system: web node, cast path, broadcaster, archive worker, command line."""
