"""What the CLI runs: each command takes loaded data in and writes its results at the edge."""
