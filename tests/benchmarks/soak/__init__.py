"""The soak benchmark (`make soak`): the whole service at half its measured peak for half an hour (see __main__)."""
