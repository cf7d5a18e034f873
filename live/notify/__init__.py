"""Notifications of new polls (feature C9).

A citizen turns them on by choosing areas of interest (``rooms.areas``); with them on,
a new poll notifies them when it is in one of those areas, targeted at their home
district (the profile's ``district``), or placed near the place they saved. When a
poll opens, ``live.jobs`` enqueues ``fanout.notify_poll``, an arq job that finds the
poll's audience in batches (``audience``), keeps one notification per citizen and poll
in their inbox (``inbox``), sends a ``notice`` frame to those online (``channel``) and a
Web Push message to each browser they allowed (``push``), in the language they chose
(``languages``).
"""
