"""Citizens' accounts: one-time codes by text message, sign-up, sign-in, reset, change of
number. A number is held in memory only as long as a code takes to go out."""
