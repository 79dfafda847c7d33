"""Access: accounts, sign-in and who may do and read what."""
