"""Each domain's settings models (``callproof.config`` holds the machinery and ``load``)."""
