"""Text: pure functions over English news text (sentences, terms, dates); no models, no I/O."""
