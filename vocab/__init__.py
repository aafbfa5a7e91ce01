"""Vocabulary: term import and counts, vocab build, forward and bidirectional WordPiece, embedding extension."""
