"""Where data comes from: each module returns frames shaped as in `ingest.frames`, and writes nothing."""
