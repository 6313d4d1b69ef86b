"""What is learned: the two towers and their losses (``two_tower``), the history encoder in NumPy
(``fold_in``), movie-to-movie towers (``item_to_item``) and the stars a user gives a movie (``ranking``)."""
