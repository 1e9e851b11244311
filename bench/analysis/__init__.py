"""Numbers from results, no database and no drawing: statistics, ratios to the baseline, growth fits,
units, the recommended model end to end. Verdicts, gates and charts build on it; it imports none of them."""
