"""Operations workers can run, keyed by (provider, operation)."""

from adapters.operations.diagnostic import diagnostic_operations

__all__ = ["diagnostic_operations"]
