"""Tables and the rules that change them: plain functions over a Session, called by flows and tests alike."""
