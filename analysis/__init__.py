"""The AI forecasting book's library: data contract, models, ledger and CLI."""

__version__ = "0.1.0"
