"""Tools for developing and demonstrating repairbot, kept apart from the product: a terminal WeChat user
that signs its messages as WeChat does, a loopback stand-in for WeChat's HTTP API, and the demo that runs
everything on embedded defaults."""
