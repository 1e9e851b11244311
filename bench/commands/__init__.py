"""One module per `sessionbench` subcommand that is more than a call into a folder: run, trace, doctor,
list, notebooks; and the table `run` ends with (summary). bench.cli parses and dispatches."""
