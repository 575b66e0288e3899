"""Reports: the weekly figures (``weekly``) and the files and charts made from them."""
