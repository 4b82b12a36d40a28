"""The configuration, the lowest layer (no torch): reading a profile file (``file``), its
schema and cross-field rules (``schema``), the runs it defines as data (``specs``) and the
sizes known at parse time (``sizes``: parameters, memory, job resources)."""
