"""One module per command: read a source, call the science modules, write the outputs."""
