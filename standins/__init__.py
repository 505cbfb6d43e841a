"""Loopback stand-ins for outside services: Flex's demo runs them, and so do the tests.

``standins.github`` is a GitHub Enterprise stand-in (``python -m standins.github``);
``standins.http`` is the scripted HTTP server it is built on.
"""
