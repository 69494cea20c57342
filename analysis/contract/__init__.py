"""The contract: every column, every path, every error message shape, provenance digests. Imports nothing above it."""
