"""Pretraining: NSP pairs, masking, the pretraining model and its Trainer set-up."""
