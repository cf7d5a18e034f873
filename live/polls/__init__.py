"""Citywide polls: made by citizens and officials, opened and closed on time by scheduled
jobs, voted on by signed-in citizens over the live protocol."""
