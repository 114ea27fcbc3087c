"""Evaluation: polygon geometry, one-to-one IoU matching, text comparison and metrics."""
