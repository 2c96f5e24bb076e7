"""The keeper console's pages (issue 16): the shared shell (``layout``), templates, and each page's builder."""
