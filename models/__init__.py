"""Data and the rules about it: people, the register, tickets and their statuses."""
