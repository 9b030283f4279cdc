"""Settings, the clock and the shipped templates: the bottom layer, importing nothing of ours."""
