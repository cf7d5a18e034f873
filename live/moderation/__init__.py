"""Keeping the public square usable: who moderates (``monitors``), what they did
(``audit``), the words refused (``words``), and citizens' reports (``reports``)."""
