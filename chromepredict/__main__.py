"""`python -m chromepredict` runs the command-line interface."""

from chromepredict.cli import main

main()
