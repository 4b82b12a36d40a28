"""What the workflow delivers, from cached files: plots and figures (``plots``,
``figures``), tables (``tables``; the batch ablation's in ``batch_ablation``), the claims
and their verdicts (``claims``), the report (``report``), and tables compared within the
measured tolerances (``compare``, ``tolerance``, ``verify``: make verify and make reference)."""
