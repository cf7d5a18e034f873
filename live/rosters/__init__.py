"""Rosters: groups of phone numbers (kept as keyed references only) a host or official
imports from a spreadsheet, edits, and targets polls at."""
