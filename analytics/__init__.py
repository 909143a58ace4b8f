"""Evaluation of the randomized notification program: statistics, results and the report."""
