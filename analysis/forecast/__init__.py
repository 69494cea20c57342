"""Forecasts from models: the frozen record, fitting and replay, scoring, scenarios, coherence and the backtest."""
