"""Spectra from the Hessian layer: the Lanczos edges of any symmetric operator (``edges``,
the entry points; ``lanczos``, the recurrence; ``reorthogonalisation``; ``convergence``), the
stochastic Lanczos quadrature density (``density``), the Marchenko-Pastur law
(``random_matrix``), and the negative part and four outlier counts (``counts``, no torch)."""
