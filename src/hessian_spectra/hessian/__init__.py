"""The Hessian of the training loss: the exact dense H, G and R (``dense``, with the engines
``architectures`` (``mlp`` structure), ``piecewise`` and ``gauss_newton``), Hessian-vector
products as operators (``operators``), and every eigenvalue through the Hessian's range
(``range``)."""
