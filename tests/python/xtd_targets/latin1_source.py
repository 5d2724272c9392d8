# -*- coding: latin-1 -*-
"""A target whose source is not UTF-8."""

WORD = "café"


class Word:
    def word(self):
        return WORD
