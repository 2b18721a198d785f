"""FOCUS (FinOps Open Cost and Usage Specification) datasets of the partner's costs and re-billed
charges: the files, their checks and the validator run. See docs/focus.md."""
