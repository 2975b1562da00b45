"""What the commands produce: a sample scored through the gate, prediction tables and tracks,
comparisons and knockouts, explanations and figures."""
