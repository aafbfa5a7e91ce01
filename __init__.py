"""kmb: build and measure a Korean medical BERT end to end.

Stages, in the one direction data flows:
crawlers -> corpus -> vocab -> training -> evaluation; cli/ only parses options.
"""

__version__ = "0.1.0"
