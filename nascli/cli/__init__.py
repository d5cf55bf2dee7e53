"""The `nas` command line: one module per subcommand, no algorithm code."""
