"""Citizens: mobile numbers, one-time codes and the rules of a citizen's account."""
