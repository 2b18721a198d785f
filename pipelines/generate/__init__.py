"""Sample Partner Center files for the demo, the tests and the benchmarks."""

from pipelines.generate.months import GeneratedInvoice, GeneratedMonth, generate

__all__ = ["GeneratedInvoice", "GeneratedMonth", "generate"]
