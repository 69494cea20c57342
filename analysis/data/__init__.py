"""The data set: predictions, evidence, resolutions, scenarios and rosters, loaded once and cross-checked."""
