"""Data sets and their file format: the Gaussian clusters of Family A (``clusters``), the
image sets of Families B and C (``images``), the shared split type and its .npz file
(``split``), and the input shapes of the image sources (``sources``, light enough for the
workflow to import at parse time)."""
