"""The families with steps of their own beyond train -> spectrum -> count: Family D's batch
switch (``switch``), the spectra along training (``along_training``), Appendix B's
Marchenko-Pastur picture (``appendix_b``) and the batch ablation (``batch_ablation``).
Families A, B and C (clusters, width, batch) are runs of ``pipeline.runs`` only."""
