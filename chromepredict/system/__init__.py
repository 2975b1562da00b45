"""The lowest layer: plumbing every other layer may use — errors, status and warnings, safe outputs,
file-format sniffing, worker processes and the optional torch extra. Imports nothing above it."""
