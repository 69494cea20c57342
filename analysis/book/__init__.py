"""The book: page views, HTML fragments, charts, citations, build steps and the Sphinx extension."""
