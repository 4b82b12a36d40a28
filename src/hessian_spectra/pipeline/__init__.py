"""The workflow's glue: the train and spectrum steps of every run (``runs``), what every job
does first (``jobs``: its log file, execution settings) and the resources each
job would ask a cluster for (``job_sizes``)."""
