"""Hessian-spectrum toolkit and the replication of Sagun et al. (2017)."""
