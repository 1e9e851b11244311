"""What a run will measure, decided before anything runs: its settings, its cases (workload x variant x
params), how they are split into shards, and the recommended model measured beside the variants."""
