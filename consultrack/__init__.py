"""The faces of consultrack: the command line, the web service. They call flows to change things."""
