"""`python3 -m harness` is the grade command (harness/grade wraps it)."""
import sys

from harness.cli import main

sys.exit(main(sys.argv[1:]))
