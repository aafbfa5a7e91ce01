"""Evaluation: intrinsic MLM/NSP, extrinsic NER/STS/classification, metrics and the report."""
