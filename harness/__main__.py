"""`python3 -m harness` is the grade command (harness/grade wraps it)."""
import sys

from harness.commands.grade import main

sys.exit(main(sys.argv[1:]))
