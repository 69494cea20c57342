"""The append-only stores commands write: the forecast ledger, question versions, the update log and snapshot notes."""
