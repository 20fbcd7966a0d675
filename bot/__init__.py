"""Parley: a text-message bot for community commissioning.

Residents answer surveys, send ideas and vote by SMS or Telegram in their own language;
community workers and organisers see the results and send back what was decided.
"""

__version__ = "0.1.0"
