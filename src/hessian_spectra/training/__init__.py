"""The nets and their training: the models built from config sections (``models``) and the
resumable full-batch GD / mini-batch SGD loop with its checkpoints (``train``)."""
