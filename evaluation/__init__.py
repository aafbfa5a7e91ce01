"""Evaluation: intrinsic MLM/NSP, extrinsic NER/STS, metrics and the report."""
