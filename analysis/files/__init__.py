"""Safe file access at the data folder's trust boundary: strict reads, atomic writes, CSV and YAML readers."""
