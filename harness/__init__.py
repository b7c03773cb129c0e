"""socklab's grader: builds lab programs, runs them in private networks against
independent Python peers, and reports scores. `harness/grade --help` for use."""
