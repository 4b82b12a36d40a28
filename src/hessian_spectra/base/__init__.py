"""The plumbing every layer uses, with no science in it: atomic writes and ``.npz`` files
(``io``), progress lines (``progress``), seeds and devices (``seeding``) and the pinned CPU
kernels every job runs (``code_path``)."""
